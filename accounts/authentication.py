"""Checking a person's legacy credentials and keeping their local shadow account in step.

Every failure that a person could use to learn something (unknown user, wrong password, inactive
account, unknown hash format) looks the same from outside and costs the same time; the precise
reason goes to the log and the audit trail only.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from accounts import ledger
from accounts.hashers import HashContext, Verification, dummy_verification, verify_password
from accounts.legacy import DuplicateLegacyUser, LegacyRowUnreadable, LegacyUser, get_user_source
from accounts.models import AuthenticationEvent, Profile, Subject
from idp_bridge.errors import BridgeError

log = logging.getLogger("idp_bridge.login")

MAX_LOGIN_LENGTH = 255
MAX_PASSWORD_LENGTH = 4096
# Nothing was computed for these outcomes: spend the time a real verification would.
UNVERIFIED_REASONS = {"unknown_format", "no_hash", "malformed_hash", "unsupported_scheme"}
_DUMMY_PASSWORD = secrets.token_urlsafe(24)


class _TimingCalibration:
    """What a failed login must cost so that nobody can tell why it failed, learnt per process.

    Portals mix schemes (the demo: bcrypt, PBKDF2, phpass, sha512-crypt) whose verifications cost
    from a few to hundreds of milliseconds, so one dummy hash cannot make every failure look
    alike. Every real verification is timed; per scheme the last ``SAMPLES`` durations are kept,
    with a stored hash of that scheme as an example. The scheme's cost is the ``QUANTILE`` of its
    durations: then

    * an unknown user (or an unknown hash format) is "verified" against the example of the
      costliest scheme (or against BRIDGE_DUMMY_HASH, which the operator names as the costliest);
    * every failure is padded, after its verification, to the costliest cost (``floor``), so a
      wrong password for a cheap phpass account answers no sooner than for a bcrypt one.

    Why a high quantile rather than the average: a real verification of the costliest scheme
    takes max(its own time, floor) after padding, a cheap one exactly the floor. With the floor
    at the 90th percentile both are the floor nine times in ten, so their medians agree; at the
    average, the costliest scheme's slower half would stand out (measured: 9-15 ms on a busy host).

    Padding sleeps rather than hashes: it costs a worker the time a costliest-scheme account
    would, and no CPU. Measured by benchmarks/enumeration_timing.py (docs/security.md).
    """

    SAMPLES = 50
    QUANTILE = 0.9
    lock = threading.Lock()
    durations: dict[str, deque[float]] = {}  # scheme -> recent verification times (seconds)
    examples: dict[str, str] = {}  # scheme -> a stored hash of that scheme

    @classmethod
    def observe(cls, scheme: str, stored: str, seconds: float) -> None:
        with cls.lock:
            recent = cls.durations.setdefault(scheme, deque(maxlen=cls.SAMPLES))
            recent.append(seconds)
            cls.examples[scheme] = stored

    @classmethod
    def cost(cls, scheme: str) -> float:
        ordered = sorted(cls.durations[scheme])
        return ordered[min(len(ordered) - 1, int(cls.QUANTILE * len(ordered)))]

    @classmethod
    def costliest(cls) -> tuple[str | None, float]:
        """The example hash of the costliest scheme seen, and that scheme's cost."""
        with cls.lock:
            if not cls.durations:
                return None, 0.0
            costs = {scheme: cls.cost(scheme) for scheme in cls.durations}
            scheme = max(costs, key=costs.__getitem__)
            return cls.examples[scheme], costs[scheme]

    @classmethod
    def forget(cls) -> None:
        with cls.lock:
            cls.durations.clear()
            cls.examples.clear()


def spend_dummy_time() -> None:
    """One verification whose result is discarded, padded like a failed real one."""
    started = time.perf_counter()
    example, _ = _TimingCalibration.costliest()
    if settings.BRIDGE_DUMMY_HASH:
        dummy_verification()  # the operator's costliest hash; timed so that it sets the floor
        _TimingCalibration.observe("BRIDGE_DUMMY_HASH", "", time.perf_counter() - started)
    elif example:
        verify_password(_DUMMY_PASSWORD, example)
    else:
        dummy_verification()  # nothing verified yet in this process: the default (bcrypt 12)
    pad_failure(started)


def pad_failure(started: float) -> None:
    """Sleep until a failure that began verifying at ``started`` has cost the costliest average."""
    _, floor = _TimingCalibration.costliest()
    remaining = floor - (time.perf_counter() - started)
    if remaining > 0:
        time.sleep(remaining)


def _calibrate(stored: str | None, verification: Verification, seconds: float) -> None:
    if stored and verification.scheme and verification.reason in ("ok", "mismatch"):
        _TimingCalibration.observe(verification.scheme, stored, seconds)


class AccountNeedsAttention(BridgeError):
    """The account cannot log in until an admin acts (e.g. a username conflict); never pick one."""

    def __init__(self, reason: str, legacy_ids: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.legacy_ids = legacy_ids or []


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    reason: str  # "ok", "unknown_user", a legacy state ("suspended", ...), or a Verification reason
    legacy_id: str | None = None
    scheme: str | None = None
    detail: str = ""  # for the audit trail: which mapping condition blocked the account, say

    @property
    def ok(self) -> bool:
        return self.user is not None


def hash_context(legacy_user: LegacyUser) -> HashContext:
    return HashContext(
        salt=legacy_user.salt,
        site_salt=legacy_user.site_salt,
        salt_position="before" if legacy_user.salt_position == "before" else "after",
        trim_whitespace=legacy_user.trim_password,
    )


def check_legacy_credentials(login: str, password: str) -> LoginOutcome:
    """Verify ``password`` for ``login`` against the legacy database.

    Raises LegacySourceUnavailable (the caller answers 503) and AccountNeedsAttention.
    """
    if not login or len(login) > MAX_LOGIN_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        spend_dummy_time()
        return LoginOutcome(None, "bad_input")
    try:
        legacy_user = get_user_source().get_by_login(login)
    except DuplicateLegacyUser as duplicate:
        spend_dummy_time()
        ids = sorted(set(duplicate.legacy_ids))
        if duplicate.by == "login" and len(ids) > 1:
            # Several accounts answer to one username: a username conflict. (A shared e-mail
            # address, or a join that repeats one account's row, is refused but is not one.)
            ledger.record_conflict(ledger.username_key(login), ids)
        raise AccountNeedsAttention("duplicate_login", ids) from None
    except LegacyRowUnreadable:
        spend_dummy_time()
        return LoginOutcome(None, "row_unreadable")
    if legacy_user is None:
        spend_dummy_time()
        return LoginOutcome(None, "unknown_user")

    started = time.perf_counter()
    verification: Verification = verify_password(
        password,
        legacy_user.password_hash,
        scheme=legacy_user.password_scheme,
        context=hash_context(legacy_user),
    )
    _calibrate(legacy_user.password_hash, verification, time.perf_counter() - started)
    if verification.reason in UNVERIFIED_REASONS:
        spend_dummy_time()
    if not verification.ok:
        pad_failure(started)
        return LoginOutcome(None, verification.reason, legacy_user.legacy_id, verification.scheme)
    if not legacy_user.is_active:
        pad_failure(started)
        return LoginOutcome(
            None,
            legacy_user.state,
            legacy_user.legacy_id,
            verification.scheme,
            legacy_user.state_reason or "",
        )

    user = sync_shadow_user(legacy_user)
    return LoginOutcome(user, "ok", legacy_user.legacy_id, verification.scheme)


def sync_shadow_user(legacy_user: LegacyUser) -> User:
    """Create or refresh the local user and profile from the legacy row; the legacy id never changes.

    Raises AccountNeedsAttention when the username would collide with another live account's; the
    conflict is recorded first, outside the profile transaction, so the refusal is remembered.
    """
    subject = ledger.subject_for(legacy_user.legacy_id)
    key = ledger.username_key(ledger.effective_username(subject, legacy_user.username))
    others = ledger.conflicting_legacy_ids(key, legacy_user.legacy_id)
    if others:
        ledger.record_conflict(key, [*others, legacy_user.legacy_id])
    if others or ledger.open_conflict(key):
        raise AccountNeedsAttention("username_conflict", [*others, legacy_user.legacy_id])
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _sync(legacy_user, subject, key)
        except IntegrityError:
            # A concurrent first login for the same account created the rows; use theirs.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _sync(legacy_user: LegacyUser, subject: Subject, key: str) -> User:
    profile = Profile.objects.select_related("user").filter(subject=subject).first()
    if profile is None:
        user = get_user_model().objects.create(username=f"legacy.{subject.sub}")
        user.set_unusable_password()
        profile = Profile(user=user, subject=subject)
    else:
        user = profile.user
        if profile.legacy_username != legacy_user.username:
            audit.record(
                "account.renamed",
                legacy_id=legacy_user.legacy_id,
                user=user,
                old_username=profile.legacy_username,
                new_username=legacy_user.username,
            )
    copy_claims(legacy_user, profile)
    profile.username_key = key
    profile.save()
    user.first_name = (legacy_user.given_name or "")[:150]
    user.last_name = (legacy_user.family_name or "")[:150]
    user.email = legacy_user.email or ""
    user.is_active = True
    user.save()
    return user


def copy_claims(legacy_user: LegacyUser, profile: Profile) -> None:
    """Copy the claims-relevant values of a legacy row onto a profile (saved or not): the one mapping
    from a row to claims, used by login and by ``federation_check --user``."""
    profile.legacy_username = legacy_user.username
    profile.name = legacy_user.name or " ".join(
        part for part in (legacy_user.given_name, legacy_user.family_name) if part
    )
    profile.given_name = legacy_user.given_name or ""
    profile.family_name = legacy_user.family_name or ""
    profile.email = legacy_user.email or ""
    profile.organization = legacy_user.organization or ""


def record_authentication(user: User, scheme: str | None) -> AuthenticationEvent:
    return AuthenticationEvent.objects.create(
        user=user, occurred_at=timezone.now(), amr="pwd", password_scheme=scheme or ""
    )
