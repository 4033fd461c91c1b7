"""The signing-key rotation cycle, one safe step per run: for a daily (or hourly) timer.

Each run does what is due and nothing else, so running it again changes nothing:

1. retire: drop retiring keys whose tokens have all expired (``oidc.keys.retire_expired_keys``);
2. activate: a pre-published key that has been in the JWKS for ``--publish-seconds`` (at least
   ``oidc.keys.JWKS_MAX_AGE_SECONDS``, how long relying parties may cache the JWKS) starts signing;
   the previous key keeps being published while anything it signed may still be presented;
3. pre-publish: when the active key is ``--max-age-days`` old and no next key is waiting, a new key
   is published, to be activated by a later run.

From a timer running daily, a rotation takes two days: published one day, signing the next. Every
step is also written to the audit trail. Instances on one PostgreSQL database take turns (an
advisory lock), so timers on every replica are harmless. ``rotate_keys`` (oidc) remains the manual
tool: it shows the keys and can force an activation after a key compromise.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

import audit
from idp_bridge.locks import database_lock
from oidc import keys
from oidc.models import SigningKey


class Command(BaseCommand):
    help = (
        "Rotate the signing keys when due: retire expired, activate the pre-published, pre-publish the next."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=90,
            help="Pre-publish a new key once the active one has signed for this many days (default 90).",
        )
        parser.add_argument(
            "--publish-seconds",
            type=int,
            default=keys.JWKS_MAX_AGE_SECONDS,
            help="How long a pre-published key is in the JWKS before it signs "
            f"(default and minimum {keys.JWKS_MAX_AGE_SECONDS}, the JWKS cache time).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what is due; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        max_age = options["max_age_days"]
        publish = options["publish_seconds"]
        if max_age < 1:
            raise CommandError("--max-age-days must be at least 1.")
        if publish < keys.JWKS_MAX_AGE_SECONDS:
            raise CommandError(
                f"--publish-seconds must be at least {keys.JWKS_MAX_AGE_SECONDS}: relying parties may cache "
                "the JWKS that long, and would reject tokens signed by a key they have not seen."
            )
        with database_lock("idp-bridge:key-rotation"):
            done = self._rotate(timedelta(days=max_age), timedelta(seconds=publish), options["dry_run"])
        for line in done:
            self.stdout.write(line)

    def _rotate(self, max_age: timedelta, publish: timedelta, dry_run: bool) -> list[str]:
        now = timezone.now()
        prefix = "would " if dry_run else ""
        done: list[str] = []
        expired = SigningKey.objects.filter(state=SigningKey.State.RETIRING, retire_after__lte=now)
        if dry_run:
            retired = list(expired.values_list("kid", flat=True))
        else:
            retired = keys.retire_expired_keys()
            for kid in retired:
                audit.record("signing_key.retired", reason="scheduled", kid=kid)
        done += [f"{prefix}retire key {kid} (everything it signed has expired)" for kid in retired]

        upcoming = SigningKey.objects.filter(state=SigningKey.State.NEXT).first()
        active = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
        if active is None and not dry_run:
            active = keys.ensure_active_key()
            done.append(f"created the first signing key {active.kid}")
        if upcoming is not None:
            visible = now - upcoming.created_at
            if visible >= publish:
                if not dry_run:
                    keys.activate_next_key()
                    audit.record("signing_key.activated", reason="scheduled", kid=upcoming.kid)
                done.append(
                    f"{prefix}activate key {upcoming.kid} (published {int(visible.total_seconds())} s ago)"
                )
            else:
                wait = int((publish - visible).total_seconds()) + 1
                done.append(f"key {upcoming.kid} is published; it activates on a run in {wait} s or later")
        elif active is not None:
            age = now - (active.activated_at or active.created_at)
            if age >= max_age:
                if not dry_run:
                    row = keys.prepublish_next_key()
                    audit.record("signing_key.prepublished", reason="scheduled", kid=row.kid)
                    done.append(
                        f"pre-published key {row.kid}; a run after {int(publish.total_seconds())} s activates it"
                    )
                else:
                    done.append("would pre-publish a new key")
            else:
                due = (active.activated_at or active.created_at) + max_age
                done.append(
                    f"nothing due: key {active.kid} signs, {age.days} days old; next rotation from {due:%Y-%m-%d} UTC"
                )
        return done
