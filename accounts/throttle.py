"""Brute-force protection for the login form, per username and per client address.

Failed logins are counted per *typed* username key (``ledger.username_key``: ``AJones`` and
``ajones`` share a counter, and an unknown username is counted exactly like a known one, so a
lockout says nothing about which usernames exist) and per client address (the real one behind
trusted proxies: ``RequestContextMiddleware`` has already put it in ``REMOTE_ADDR``).

After ``free`` failures in a window, each further failure makes that key wait before its next
attempt (``delay``, then twice as long, and so on up to ``max_delay``); at ``lockout`` failures it
is locked for ``lockout`` seconds. A refused attempt is answered at once (429 with Retry-After):
no worker sleeps and the legacy database is not touched.

An attempt is charged *before* the password is verified, in one transaction with both rows
locked (``SELECT ... FOR UPDATE``; SQLite serialises writers instead), and settled afterwards: a
success clears the username's counter and refunds the address's charge. So concurrent guesses
cannot all slip through while the first is still being verified, and every replica sees the same
counters, which live in the bridge database (never the legacy one).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit
from accounts.ledger import username_key
from accounts.models import LoginThrottle

log = logging.getLogger("idp_bridge.login")

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    free_failures: int
    lockout_failures: int


@dataclass(frozen=True)
class Policy:
    window: timedelta
    delay_seconds: float
    max_delay_seconds: float
    lockout: timedelta
    account: Limits
    address: Limits

    def limits(self, scope: str) -> Limits:
        return self.address if scope == LoginThrottle.ADDRESS else self.account

    def wait_after(self, scope: str, failures: int) -> timedelta:
        """How long a key waits after its ``failures``-th failure in the window."""
        limits = self.limits(scope)
        if failures >= limits.lockout_failures:
            return self.lockout
        over = failures - limits.free_failures
        if over <= 0 or self.delay_seconds <= 0:
            return timedelta(0)
        seconds = min(self.delay_seconds * 2 ** min(over - 1, 32), self.max_delay_seconds)
        return timedelta(seconds=seconds)


def policy() -> Policy:
    return Policy(
        window=timedelta(seconds=settings.BRIDGE_LOGIN_WINDOW_SECONDS),
        delay_seconds=settings.BRIDGE_LOGIN_DELAY_SECONDS,
        max_delay_seconds=settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS,
        lockout=timedelta(seconds=settings.BRIDGE_LOGIN_LOCKOUT_SECONDS),
        account=Limits(
            settings.BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES, settings.BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES
        ),
        address=Limits(settings.BRIDGE_LOGIN_IP_FREE_FAILURES, settings.BRIDGE_LOGIN_IP_LOCKOUT_FAILURES),
    )


@dataclass(frozen=True)
class Refusal:
    """The attempt was refused without verifying anything: wait until ``until``."""

    scope: str
    until: datetime
    locked: bool  # a lockout, not one of the short progressive delays

    def retry_after(self, now: datetime | None = None) -> int:
        return max(1, math.ceil((self.until - (now or timezone.now())).total_seconds()))


@dataclass(frozen=True)
class Attempt:
    """An attempt that was let through and charged; settle it with succeeded/failed/released."""

    keys: tuple[tuple[str, str], ...]
    failures: dict[str, int]  # per scope, counting this attempt


def throttle_key(scope: str, value: str) -> str:
    key = value if scope == LoginThrottle.ADDRESS else username_key(value)
    if len(key) > MAX_KEY_LENGTH:
        # NFKC can lengthen what was typed; a digest still gives one counter per username.
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def begin(login: str, address: str | None, *, scope: str = LoginThrottle.ACCOUNT) -> Attempt | Refusal | None:
    """Charge an attempt for ``login`` from ``address``, or refuse it. ``None``: throttling is off.

    ``scope`` is ``LoginThrottle.ADMIN`` for the admin site's login: staff usernames get counters
    of their own, so that nobody can lock an admin out by typing their name on the portal's form.
    """
    if not settings.BRIDGE_LOGIN_THROTTLE:
        return None
    rules, now = policy(), timezone.now()
    keys = [(scope, throttle_key(scope, login))]
    if address:
        keys.append((LoginThrottle.ADDRESS, throttle_key(LoginThrottle.ADDRESS, address)))
    with transaction.atomic():
        rows = _locked_rows(keys, now)
        for row in rows:  # the username first: a locked username is the more useful thing to say
            if row.blocked_until is not None and row.blocked_until > now:
                locked = row.failures >= rules.limits(row.scope).lockout_failures
                log.info("login refused throttle=%s locked=%s", row.scope, locked)
                return Refusal(row.scope, row.blocked_until, locked)
        for row in rows:
            if row.window_started_at + rules.window <= now:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            wait = rules.wait_after(row.scope, row.failures)
            row.blocked_until = now + wait if wait else None
            row.last_attempt_at = now
            row.save(update_fields=["failures", "window_started_at", "blocked_until", "last_attempt_at"])
    return Attempt(tuple(keys), {row.scope: row.failures for row in rows})


def _locked_rows(keys: list[tuple[str, str]], now: datetime) -> list[LoginThrottle]:
    """The rows for ``keys``, created if missing (an upsert: INSERT ... ON CONFLICT DO NOTHING),
    then locked in a fixed order (username, then address) so two attempts never deadlock."""
    LoginThrottle.objects.bulk_create(
        [LoginThrottle(scope=scope, key=key, window_started_at=now) for scope, key in keys],
        ignore_conflicts=True,
    )
    found = {
        (row.scope, row.key): row
        for row in LoginThrottle.objects.select_for_update()
        .filter(scope__in=[scope for scope, _ in keys], key__in=[key for _, key in keys])
        .order_by("scope", "key")
    }
    return [found[k] for k in keys]


def succeeded(attempt: Attempt | None) -> None:
    """The password was right: the username starts afresh; the address gets its charge back."""
    if attempt is None:
        return
    with transaction.atomic():
        for row in _locked_existing(attempt):
            if row.scope != LoginThrottle.ADDRESS:
                row.delete()
            else:
                _refund(row)


def released(attempt: Attempt | None) -> None:
    """Nothing was learnt (the legacy database was down, the account needs an admin): refund."""
    if attempt is None:
        return
    with transaction.atomic():
        for row in _locked_existing(attempt):
            _refund(row)


def failed(attempt: Attempt | None, *, address: str | None) -> None:
    """The attempt failed and stays charged; a charge that reached the lockout is audited."""
    if attempt is None:
        return
    rules = policy()
    for scope, key in attempt.keys:
        failures = attempt.failures[scope]
        if failures >= rules.limits(scope).lockout_failures:
            log.warning("login locked throttle=%s failures=%s", scope, failures)
            audit.record(
                "login.locked",
                reason="too_many_failures",
                ip_address=address,
                scope=scope,
                failures=failures,
                lockout_seconds=int(rules.lockout.total_seconds()),
                **({"normalized_username": key} if scope != LoginThrottle.ADDRESS else {}),
            )


def _locked_existing(attempt: Attempt) -> list[LoginThrottle]:
    rows = (
        LoginThrottle.objects.select_for_update()
        .filter(scope__in=[scope for scope, _ in attempt.keys], key__in=[key for _, key in attempt.keys])
        .order_by("scope", "key")
    )
    wanted = set(attempt.keys)
    return [row for row in rows if (row.scope, row.key) in wanted]


def _refund(row: LoginThrottle) -> None:
    rules = policy()
    row.failures = max(row.failures - 1, 0)
    if row.failures < rules.limits(row.scope).lockout_failures:
        row.blocked_until = None  # the delay this attempt set no longer applies
    row.save(update_fields=["failures", "blocked_until"])


def unlock(row: LoginThrottle, *, by: str) -> None:
    """An admin lifted a lockout or delay (the admin action; audited)."""
    audit.record(
        "login.unlocked",
        reason="admin",
        scope=row.scope,
        unlocked_by=by,
        **({"normalized_username": row.key} if row.scope != LoginThrottle.ADDRESS else {}),
        **({"ip": row.key} if row.scope == LoginThrottle.ADDRESS else {}),
    )
    LoginThrottle.objects.filter(pk=row.pk).delete()


def prune(now: datetime | None = None) -> int:
    """Delete counters whose window has ended and that block nothing; returns how many."""
    now = now or timezone.now()
    deleted, _ = (
        LoginThrottle.objects.filter(window_started_at__lte=now - policy().window)
        .exclude(blocked_until__gt=now)
        .delete()
    )
    return deleted
