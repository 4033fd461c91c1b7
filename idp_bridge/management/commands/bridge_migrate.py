"""`migrate` under a lock shared by every instance: replicas that start together take turns.

bin/entrypoint runs it at every start. Two instances migrating one PostgreSQL database at the same
moment would both try to create the same tables; with the lock the second waits, then finds
nothing left to do. `migrate` also creates the shared cache table (idp_bridge.apps).
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from idp_bridge.locks import database_lock


class Command(BaseCommand):
    help = "Apply database migrations under a lock shared by every bridge instance."
    requires_system_checks: list[str] = []  # bin/entrypoint runs `check --deploy` itself

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, **options: Any) -> None:
        def waiting() -> None:
            self.stderr.write("Another instance is migrating the bridge database; waiting for it.")

        with database_lock("idp-bridge:migrate", on_wait=waiting):
            call_command(
                "migrate",
                interactive=options["interactive"],
                verbosity=options["verbosity"],
                skip_checks=True,
                stdout=self.stdout,
                stderr=self.stderr,
            )
