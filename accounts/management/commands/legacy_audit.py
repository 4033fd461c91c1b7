"""Dry run over the whole legacy database: hash schemes, missing claims, username collisions."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from accounts import ledger
from accounts.audit_report import AuditReport, audit_users
from accounts.legacy import LegacyRowUnreadable, LegacySourceUnavailable, get_user_source
from accounts.models import Subject


class Command(BaseCommand):
    help = "Audit the legacy user database against the mapping, changing nothing (unless --record)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", metavar="DIR", help="Write accounts.csv and collisions.csv into DIR.")
        parser.add_argument("--json", metavar="FILE", help="Write the whole report as JSON.")
        parser.add_argument(
            "--record",
            action="store_true",
            help="Record username conflicts and tombstone subjects whose legacy row is gone.",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        source = get_user_source()
        try:
            total = source.count()
            unreadable: list[str] = []
            rows = source.iter_all(
                batch_size=options["batch_size"],
                errors=lambda error: unreadable.append(f"{error.legacy_id or '?'}: {error.problem}"),
            )
            report = audit_users(rows, progress=self.progress_bar(total))
            report.unreadable_rows = unreadable
        except LegacySourceUnavailable as exc:
            raise CommandError(f"The legacy database did not answer: {exc}") from exc
        except LegacyRowUnreadable as exc:
            raise CommandError(f"Stopped: {exc}. Nothing was recorded.") from exc
        sys.stderr.write("\n")
        gone = self.vanished_subjects(report)
        self.print_table(report, gone)
        if options["csv"]:
            self.write_csv(Path(options["csv"]), report)
        if options["json"]:
            Path(options["json"]).write_text(
                json.dumps(report.as_dict() | {"vanished_legacy_ids": gone}, indent=2)
            )
        complete = report.total + len(report.unreadable_rows) == total and not report.unreadable_rows
        if not complete:
            self.stdout.write(
                f"WARNING: read {report.total} of {total} rows ({len(report.unreadable_rows)} unreadable): "
                "no subject will be tombstoned from this run."
            )
        if options["record"]:
            for key, colliding in report.collisions.items():
                ledger.record_conflict(key, [legacy_id for legacy_id, _ in colliding])
            # A subject is tombstoned only from a complete read, and only after a lookup by its own
            # id confirms the row is gone: an unreadable page must never look like deleted accounts.
            gone = [i for i in gone if complete and source.get_by_id(i) is None]
            for legacy_id in gone:
                ledger.tombstone(legacy_id, reason="row_missing_in_audit")
            audit.record(
                "legacy_audit.recorded",
                accounts=report.total,
                collisions=len(report.collisions),
                tombstones=len(gone),
                complete=complete,
            )
            self.stdout.write(f"Recorded {len(report.collisions)} conflict(s) and {len(gone)} tombstone(s).")

    @staticmethod
    def progress_bar(total: int):  # type: ignore[no-untyped-def]
        def show(done: int) -> None:
            if done % 500 == 0 or done == total:
                width = 40
                filled = int(width * done / total) if total else width
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
                sys.stderr.flush()

        return show

    @staticmethod
    def vanished_subjects(report: AuditReport) -> list[str]:
        """Live subjects in the bridge whose legacy id the audit did not see."""
        live = Subject.objects.filter(tombstoned_at__isnull=True).values_list("legacy_id", flat=True)
        return sorted(set(live) - report.seen_ids)

    def print_table(self, report: AuditReport, gone: list[str]) -> None:
        out = self.stdout.write
        out(f"Legacy accounts: {report.total}")
        out("  by state:   " + ", ".join(f"{k} {v}" for k, v in report.states.most_common()))
        out("  by scheme:")
        for scheme, n in report.schemes.most_common():
            flag = "  UNSUPPORTED" if scheme in report.unsupported_schemes else ""
            out(f"    {scheme:<28} {n:>8}{flag}")
        out("  missing a claim Globus needs:")
        for problem, n in report.missing.most_common():
            out(f"    {problem:<36} {n:>8}")
        out(f"  username collisions (NFKC + case folding): {len(report.collisions)}")
        for key, rows in list(report.collisions.items())[:20]:
            out(f"    {key}: " + ", ".join(f"{u} (id {i})" for i, u in rows))
        out(f"  subjects whose legacy row is gone: {len(gone)}")
        out(f"  rows the mapping cannot read: {len(report.unreadable_rows)}")
        for line in report.unreadable_rows[:20]:
            out(f"    {line}")

    @staticmethod
    def write_csv(directory: Path, report: AuditReport) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / "accounts.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["legacy_id", "username", "problems"])
            for account in report.accounts:
                writer.writerow([account.legacy_id, account.username, " ".join(account.problems)])
        with (directory / "collisions.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["username_key", "legacy_id", "username"])
            for key, rows in report.collisions.items():
                for legacy_id, username in rows:
                    writer.writerow([key, legacy_id, username])
