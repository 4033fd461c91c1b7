"""Write every Globus link as CSV (columns in accounts/globus_csv.py and docs/globus-linking.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.globus_csv import export_links, links_for_export


class Command(BaseCommand):
    help = "Export the Globus identity links as CSV (to stdout, or --output FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", metavar="FILE", help="Write here instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["output"]:
            with Path(options["output"]).open("w", newline="", encoding="utf-8") as out:
                count = export_links(out, links_for_export())
            self.stderr.write(f"Exported {count} links to {options['output']}.")
        else:
            export_links(getattr(self.stdout, "_out", sys.stdout), links_for_export())
