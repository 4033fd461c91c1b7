"""Import Globus links from CSV: every row validated, valid rows linked through the policy."""

from __future__ import annotations

import getpass
import io
import sys
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from accounts import globus_csv
from accounts.globus import (
    GlobusError,
    GlobusNotConfigured,
    IdentityDirectory,
    RetryPolicy,
)
from accounts.globus_mapping import retry_notice


class Command(BaseCommand):
    help = (
        "Import Globus identity links from CSV (columns sub, identity_id; see docs/globus-linking.md). "
        "Every row is checked (UUIDs, account, duplicates, conflicts, the policy against what Globus "
        "says the identity is now); rejected rows are reported with their line number and reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8; '-' for stdin).")
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Do not ask Globus: trust the file's username and identity_provider columns.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=100, help="Rows linked per transaction (default 100)."
        )
        parser.add_argument("--retries", type=int, default=6, help="Retries per Globus call (429, 5xx).")
        parser.add_argument("--retry-delay", type=float, default=1.0, help="First retry delay in seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        parsed = globus_csv.parse(self._open(options["file"]))
        directory = None if options["offline"] else self._directory(options)
        try:
            report = globus_csv.validate(parsed, directory=directory)
        except GlobusError as exc:
            raise CommandError(
                f"Globus Auth could not be asked about the identities ({exc}). Nothing was imported; "
                "try again later, or use --offline to trust the file."
            ) from exc
        actor = f"globus_links_import ({getpass.getuser()})"
        if not options["dry_run"]:
            globus_csv.apply(report, batch_size=options["batch_size"], actor=actor)
            audit.record(
                "globus.import",
                reason="offline" if options["offline"] else "checked_at_globus",
                actor=actor,
                file=Path(options["file"]).name,
                rejected_lines=[[r.line, r.reason] for r in report.rejected[:200]],
                **globus_csv.summary(report),
            )
        self._print(report, options["dry_run"])

    def _open(self, name: str) -> TextIO:
        if name == "-":
            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            # utf-8-sig: spreadsheets write a byte-order mark; newline="": quoted fields keep theirs.
            return io.StringIO(Path(name).read_bytes().decode("utf-8-sig"), newline="")
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{name} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc

    def _directory(self, options: dict[str, Any]) -> IdentityDirectory:
        try:
            return IdentityDirectory(
                RetryPolicy(retries=options["retries"], base_delay=options["retry_delay"]),
                on_retry=retry_notice(self.stderr.write),
            )
        except GlobusNotConfigured as exc:
            raise CommandError(f"{exc}: set them, or use --offline to trust the file") from exc
        except GlobusError as exc:
            raise CommandError(f"Globus Auth: {exc}. Nothing was imported.") from exc

    def _print(self, report: globus_csv.ImportReport, dry_run: bool) -> None:
        out = self.stdout.write
        for rejected in report.rejected:
            detail = f" ({rejected.detail})" if rejected.detail else ""
            out(f"line {rejected.line}: rejected: {rejected.reason}{detail}")
        if dry_run:
            for planned in report.planned:
                kind = "" if planned.row.effective else " (not effective)"
                identity = f"{planned.identity.username} ({planned.identity.id}){kind}"
                out(f"line {planned.row.line}: would link {identity}")
        counts = globus_csv.summary(report)
        if dry_run:
            out(
                f"Dry run (nothing written): {counts['rows']} rows, {len(report.planned)} would be linked, "
                f"{counts['unchanged']} unchanged, {counts['rejected']} rejected"
            )
        else:
            out(
                f"{counts['rows']} rows: {counts['applied']} linked, {counts['unchanged']} unchanged, "
                f"{counts['rejected']} rejected"
            )
