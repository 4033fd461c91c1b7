"""Report where the Globus links and Globus disagree (read-only; text, --json or --csv)."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.globus import GlobusError, GlobusNotConfigured, IdentityDirectory, RetryPolicy
from accounts.globus_csv import protect
from accounts.globus_mapping import retry_notice
from accounts.globus_reconcile import CATEGORIES, Finding, Reconciliation, reconcile

CSV_COLUMNS = (
    "category",
    "sub",
    "legacy_id",
    "legacy_username",
    "expected_username",
    "identity_id",
    "detail",
)


class Command(BaseCommand):
    help = "Compare the Globus links with what Globus says now; change nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="Write the report as JSON.")
        output.add_argument("--csv", action="store_true", help="Write one CSV row per finding.")
        parser.add_argument(
            "--fail-on-problems",
            action="store_true",
            help="Exit with status 1 when there is any problem (notices do not count): for monitoring.",
        )
        parser.add_argument("--retries", type=int, default=6, help="Retries per Globus call (429, 5xx).")
        parser.add_argument("--retry-delay", type=float, default=1.0, help="First retry delay in seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            directory = IdentityDirectory(
                RetryPolicy(retries=options["retries"], base_delay=options["retry_delay"]),
                on_retry=retry_notice(self.stderr.write),
            )
            report = reconcile(directory)
        except GlobusNotConfigured as exc:
            raise CommandError(
                f"{exc}: set them to the bridge's Globus app (docs/globus-linking.md)"
            ) from exc
        except GlobusError as exc:
            raise CommandError(f"Globus Auth could not be asked ({exc}); no report was made") from exc
        if options["json"]:
            self._json(report)
        elif options["csv"]:
            self._csv(report.findings)
        else:
            self._text(report)
        problems = report.problems()
        if problems and options["fail_on_problems"]:
            raise CommandError(f"{problems} problems", returncode=1)

    def _text(self, report: Reconciliation) -> None:
        out = self.stdout.write
        out(f"Accounts: {report.accounts}, Globus links: {report.links}, problems: {report.problems()}")
        for category, findings in report.by_category().items():
            problem, meaning = CATEGORIES[category]
            kind = "problem" if problem else "notice"
            out(f"{category} ({kind}, {len(findings)}): {meaning}")
            for finding in findings:
                who = finding.legacy_username or "(deleted account)"
                identity = f" {finding.identity_id}" if finding.identity_id else ""
                out(
                    f"  {who} [legacy id {finding.legacy_id}]{identity}: {finding.detail or finding.expected_username}"
                )

    def _json(self, report: Reconciliation) -> None:
        body = {
            "accounts": report.accounts,
            "links": report.links,
            "problems": report.problems(),
            "categories": {
                category: {
                    "problem": CATEGORIES[category][0],
                    "meaning": CATEGORIES[category][1],
                    "findings": [f.as_dict() for f in findings],
                }
                for category, findings in report.by_category().items()
            },
        }
        self.stdout.write(json.dumps(body, indent=2))

    def _csv(self, findings: list[Finding]) -> None:
        writer = csv.DictWriter(getattr(self.stdout, "_out", sys.stdout), fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for finding in findings:
            writer.writerow({name: protect(value) for name, value in finding.as_dict().items()})
