"""Is a legacy account still allowed to use what it was given? Re-checked on token paths.

Refresh, userinfo, introspection and single sign-on at the authorization endpoint ask this, so a
suspended, deleted or expired portal account stops working within ``BRIDGE_LEGACY_STATE_SECONDS``
(the cache that keeps the legacy database from being hit on every request).

During a legacy database outage the answer is "usable": tokens already issued keep working
(issue 2), and the outage is remembered for the same short time so that no request waits for a
connect timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accounts import ledger
from accounts.legacy import DuplicateLegacyUser, LegacyRowUnreadable, LegacySourceUnavailable, get_user_source
from accounts.models import Profile

CACHE_PREFIX = "idp-bridge:legacy-state:"


@dataclass(frozen=True)
class AccountState:
    usable: bool
    reason: (
        str  # "active", "legacy_unavailable", or why not: "deleted", "suspended", "username_conflict", ...
    )


def account_state(profile: Profile) -> AccountState:
    key = f"{CACHE_PREFIX}{profile.subject_id}"
    cached = cache.get(key)
    if cached is not None:
        return AccountState(*cached)
    state = _look_up(profile)
    cache.set(key, (state.usable, state.reason), timeout=settings.BRIDGE_LEGACY_STATE_SECONDS)
    return state


def forget(profile: Profile) -> None:
    """Drop the cached answer (after a login re-read the row anyway)."""
    cache.delete(f"{CACHE_PREFIX}{profile.subject_id}")


def _look_up(profile: Profile) -> AccountState:
    subject = profile.subject
    if subject.tombstoned_at is not None:
        return AccountState(False, "deleted")
    if ledger.open_conflict(profile.username_key):
        return AccountState(False, "username_conflict")
    try:
        row = get_user_source().get_by_id(subject.legacy_id)
    except LegacySourceUnavailable:
        return AccountState(True, "legacy_unavailable")
    except DuplicateLegacyUser:
        return AccountState(False, "duplicate_id")
    except LegacyRowUnreadable:
        return AccountState(False, "row_unreadable")  # the row exists: never a tombstone
    if row is None:
        ledger.tombstone(subject.legacy_id, reason="row_missing")
        return AccountState(False, "deleted")
    if not row.is_active:
        return AccountState(False, row.state)
    return AccountState(True, "active")
