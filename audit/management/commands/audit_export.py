"""Export audit events as JSON lines, oldest first: for a SIEM, an investigation or an archive.

``audit_export --since 2026-11-01 --until 2026-12-01 --event login.failed --event 'token.*'``
writes one JSON object per line to stdout (or ``--output FILE``). ``--since`` is inclusive,
``--until`` exclusive; both take a date (midnight UTC) or an ISO 8601 date-time. ``--event`` takes
an event name or a family (``login.*``) and may be repeated. Events carry no secrets
(``audit.record`` refuses them), so the export is safe to hand to a security officer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditEvent

CHUNK = 2000


def moment(value: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time (UTC unless it names an offset)."""
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(
            f"{value!r} is not a date or date-time; use e.g. 2026-11-01 or 2026-11-01T08:00:00Z."
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_line(event: AuditEvent) -> str:
    return json.dumps(
        {
            "id": event.pk,
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "event": event.event,
            "reason": event.reason,
            "legacy_id": event.legacy_id,
            "user_id": event.user_id,
            "client_id": event.client_id,
            "ip_address": event.ip_address,
            "details": event.details,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class Command(BaseCommand):
    help = "Write audit events as JSON lines (oldest first) to stdout or --output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Events at or after this date or date-time (UTC).")
        parser.add_argument("--until", help="Events before this date or date-time (UTC).")
        parser.add_argument(
            "--event", action="append", default=[], help="An event name or family (login.*); repeatable."
        )
        parser.add_argument("--output", help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        events = AuditEvent.objects.order_by("occurred_at", "pk")
        if options["since"]:
            events = events.filter(occurred_at__gte=moment(options["since"]))
        if options["until"]:
            events = events.filter(occurred_at__lt=moment(options["until"]))
        if options["event"]:
            wanted = Q()
            for name in options["event"]:
                wanted |= Q(event__startswith=name[:-1]) if name.endswith(".*") else Q(event=name)
            events = events.filter(wanted)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                count = write_lines(events, out.write)
            self.stderr.write(f"Wrote {count} audit events to {options['output']}.")
        else:
            write_lines(events, self.stdout.write)


def write_lines(events: Any, write: Callable[[str], object]) -> int:
    count = 0
    for event in events.iterator(chunk_size=CHUNK):
        write(as_line(event) + "\n")
        count += 1
    return count
