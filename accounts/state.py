"""Is a legacy account still allowed to use what it was given? Re-checked on token paths.

Refresh, userinfo, introspection and single sign-on at the authorization endpoint ask this, so a
suspended, deleted or expired portal account stops working within ``BRIDGE_LEGACY_STATE_SECONDS``
(the cache that keeps the legacy database from being hit on every request).

During a legacy database outage the answer is "usable": tokens already issued keep working
(issue 2), and the outage is remembered for the same short time so that no request waits for a
connect timeout.

The answer lives in the shared cache (every worker and instance sees one answer). A "usable"
answer is also copied into each process that reads it, to spare the token path the shared cache's
round trip; the copy expires when the shared entry does, so a suspension still takes effect within
``BRIDGE_LEGACY_STATE_SECONDS`` of the read. Refusals are not copied: ``forget`` after a successful
login must lift them in every process at once.
"""

from __future__ import annotations

import time
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


# subject id -> (wall-clock expiry of the shared entry, usable answer). Bounded: cleared when full.
_local: dict[int, tuple[float, AccountState]] = {}
LOCAL_MAX_ENTRIES = 10_000


def account_state(profile: Profile) -> AccountState:
    now = time.time()
    local = _local.get(profile.subject_id)
    if local is not None and local[0] > now:
        return local[1]
    key = f"{CACHE_PREFIX}{profile.subject_id}"
    cached = cache.get(key)
    if cached is not None:
        usable, reason, *expiry = cached  # entries of older versions have no expiry: not copied
        state = AccountState(usable, reason)
        if expiry:  # never longer than this process's own bound, whatever another host's clock says
            _keep_locally(
                profile.subject_id, min(expiry[0], now + settings.BRIDGE_LEGACY_STATE_SECONDS), state
            )
        return state
    state = _look_up(profile)
    seconds = settings.BRIDGE_LEGACY_STATE_SECONDS
    cache.set(key, (state.usable, state.reason, now + seconds), timeout=seconds)
    _keep_locally(profile.subject_id, now + seconds, state)
    return state


def _keep_locally(subject_id: int, expires: float, state: AccountState) -> None:
    if not state.usable:
        return
    if len(_local) >= LOCAL_MAX_ENTRIES:
        _local.clear()
    _local[subject_id] = (expires, state)


def forget(profile: Profile) -> None:
    """Drop the cached answer (after a login re-read the row anyway)."""
    _local.pop(profile.subject_id, None)
    cache.delete(f"{CACHE_PREFIX}{profile.subject_id}")


def forget_local_copies() -> None:
    """Drop this process's copies (tests, where the shared cache rolls back with each test)."""
    _local.clear()


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
