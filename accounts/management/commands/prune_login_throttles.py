"""Delete brute-force counters that no longer count: their window has ended and they block nothing.

A login attack with made-up usernames leaves one row per username tried; this keeps the table to
the keys that still matter. Safe on every instance at once and at any time.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts import throttle


class Command(BaseCommand):
    help = "Delete login-throttle counters whose window has ended and that block nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {throttle.prune()} expired login-throttle counters.")
