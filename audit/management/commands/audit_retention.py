"""Delete audit events older than a retention period: the only way an audit event is ever removed.

Audit events are evidence and append-only: ``AuditEvent.save()`` refuses to change one,
``AuditEvent.delete()`` refuses to remove one, and the admin can do neither. Retention is the one
deliberate exception, so it is a command an operator schedules (docs/operations.md) with the
period the institution's records policy sets. It deletes with ``QuerySet.delete()`` on the
filtered events, which never calls the instance method, in batches of ``--batch-size`` so that no
single statement holds locks on millions of rows; and it records that it ran, with the cutoff and
the count, as an audit event of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

import audit
from audit.models import AuditEvent

# Each id of a batch is one bind parameter (prepared statements: docs/configuration.md), and
# PostgreSQL takes at most 65,535 per statement.
MAX_BATCH = 50_000


class Command(BaseCommand):
    help = "Delete audit events older than --days (in batches), and record that it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, required=True, help="Keep this many days of events.")
        parser.add_argument("--batch-size", type=int, default=5000, help="Events deleted per statement.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        days, batch = options["days"], options["batch_size"]
        if days < 1:
            raise CommandError("--days must be at least 1 (how many days of audit events to keep).")
        if not 1 <= batch <= MAX_BATCH:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH}.")
        cutoff = timezone.now() - timedelta(days=days)
        expired = AuditEvent.objects.filter(occurred_at__lt=cutoff)
        if options["dry_run"]:
            self.stdout.write(
                f"Would delete {expired.count()} audit events from before {cutoff:%Y-%m-%d %H:%M} UTC."
            )
            return
        deleted = 0
        while True:
            ids = list(expired.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            count, _ = AuditEvent.objects.filter(pk__in=ids).delete()
            deleted += count
        audit.record(
            "audit.retention", reason="expired", days=days, cutoff=cutoff.isoformat(), deleted=deleted
        )
        self.stdout.write(
            f"Deleted {deleted} audit events from before {cutoff:%Y-%m-%d %H:%M} UTC ({days} days kept)."
        )
