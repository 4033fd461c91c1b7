"""Signing-key rotation: --prepublish, then (after the JWKS cache time) --activate, then --retire."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from oidc import keys
from oidc.models import SigningKey


class Command(BaseCommand):
    help = "Rotate the ID-token signing keys in three safe steps, or show their state."

    def add_arguments(self, parser: CommandParser) -> None:
        step = parser.add_mutually_exclusive_group()
        step.add_argument(
            "--prepublish", action="store_true", help="Publish the next key in the JWKS (not signing yet)."
        )
        step.add_argument(
            "--activate", action="store_true", help="Sign with the pre-published key from now on."
        )
        step.add_argument(
            "--retire", action="store_true", help="Drop retiring keys whose tokens have all expired."
        )
        parser.add_argument(
            "--force", action="store_true", help="With --activate: do not wait for JWKS caches."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["prepublish"]:
                row = keys.prepublish_next_key()
                self.stdout.write(self.style.SUCCESS(f"Published next key {row.kid}."))
                self.stdout.write(
                    f"Activate it in {keys.JWKS_MAX_AGE_SECONDS} s or later: rotate_keys --activate"
                )
            elif options["activate"]:
                row = keys.activate_next_key(force=options["force"])
                self.stdout.write(
                    self.style.SUCCESS(f"Key {row.kid} now signs; the previous key is retiring.")
                )
            elif options["retire"]:
                kids = keys.retire_expired_keys()
                self.stdout.write(f"Retired {len(kids)} key(s){': ' + ', '.join(kids) if kids else ''}.")
        except keys.KeyRotationError as exc:
            raise CommandError(str(exc)) from exc
        keys.ensure_active_key()
        now = timezone.now()
        for row in keys.published_keys():
            note = (
                f" until {row.retire_after:%Y-%m-%d %H:%M} UTC"
                if row.state == SigningKey.State.RETIRING
                else ""
            )
            self.stdout.write(
                f"  {row.state:<9} {row.kid}  created {(now - row.created_at).days} days ago{note}"
            )
