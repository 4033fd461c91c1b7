"""Checking a person's legacy credentials and keeping their local shadow account in step.

Every failure that a person could use to learn something (unknown user, wrong password, inactive
account, unknown hash format) looks the same from outside and costs the same time; the reason is
kept for the log and the audit trail only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.hashers import Verification, dummy_verification, verify_password
from accounts.legacy import DuplicateLegacyUser, LegacyUser, get_user_source
from accounts.models import AuthenticationEvent, Profile, Subject
from idp_bridge.errors import BridgeError

log = logging.getLogger("idp_bridge.login")

MAX_LOGIN_LENGTH = 255
MAX_PASSWORD_LENGTH = 4096


class AccountNeedsAttention(BridgeError):
    """The login name is ambiguous in the legacy data; an admin must resolve it before anyone logs in."""


@dataclass(frozen=True)
class LoginOutcome:
    user: AbstractBaseUser | None
    reason: str  # "ok", "unknown_user", "inactive", or a Verification reason ("mismatch", ...)
    legacy_id: str | None = None
    scheme: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def check_legacy_credentials(login: str, password: str) -> LoginOutcome:
    """Verify ``password`` for ``login`` against the legacy database.

    Raises LegacySourceUnavailable (the caller answers 503) and AccountNeedsAttention.
    """
    if not login or len(login) > MAX_LOGIN_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        dummy_verification()
        return _failed(LoginOutcome(None, "bad_input"))
    try:
        legacy_user = get_user_source().get_by_login(login)
    except DuplicateLegacyUser:
        dummy_verification()
        log.warning("login refused: login name matches several legacy rows (needs an admin)")
        raise AccountNeedsAttention("several legacy accounts match this login name") from None
    if legacy_user is None:
        dummy_verification()
        return _failed(LoginOutcome(None, "unknown_user"))

    verification: Verification = verify_password(
        password, legacy_user.password_hash, salt=legacy_user.salt, scheme=legacy_user.password_scheme
    )
    if verification.reason in {"unknown_format", "no_hash", "malformed_hash", "unsupported_scheme"}:
        # Nothing was computed for these; spend the time a real verification would.
        dummy_verification()
    if not verification.ok:
        return _failed(LoginOutcome(None, verification.reason, legacy_user.legacy_id, verification.scheme))
    if not legacy_user.is_active:
        return _failed(LoginOutcome(None, "inactive", legacy_user.legacy_id, verification.scheme))

    user = sync_shadow_user(legacy_user)
    outcome = LoginOutcome(user, "ok", legacy_user.legacy_id, verification.scheme)
    log.info("login ok legacy_id=%s scheme=%s", outcome.legacy_id, outcome.scheme)
    return outcome


def _failed(outcome: LoginOutcome) -> LoginOutcome:
    log.info(
        "login failed reason=%s legacy_id=%s scheme=%s", outcome.reason, outcome.legacy_id, outcome.scheme
    )
    return outcome


def sync_shadow_user(legacy_user: LegacyUser) -> AbstractBaseUser:
    """Create or refresh the local user and profile from the legacy row; the legacy id never changes."""
    user_model = get_user_model()
    for attempt in range(2):
        try:
            with transaction.atomic():
                subject, _ = Subject.objects.get_or_create(legacy_id=legacy_user.legacy_id)
                profile = Profile.objects.select_related("user").filter(subject=subject).first()
                if profile is None:
                    user = user_model.objects.create(username=f"legacy.{subject.sub}")
                    user.set_unusable_password()
                    profile = Profile(user=user, subject=subject)
                else:
                    user = profile.user
                _copy_claims(legacy_user, profile)
                profile.save()
                user.first_name = (legacy_user.given_name or "")[:150]
                user.last_name = (legacy_user.family_name or "")[:150]
                user.email = legacy_user.email or ""
                user.is_active = True
                user.save()
                return user
        except IntegrityError:
            # A concurrent first login for the same account created the rows; read theirs.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _copy_claims(legacy_user: LegacyUser, profile: Profile) -> None:
    profile.legacy_username = legacy_user.username
    profile.name = legacy_user.name or " ".join(
        part for part in (legacy_user.given_name, legacy_user.family_name) if part
    )
    profile.given_name = legacy_user.given_name or ""
    profile.family_name = legacy_user.family_name or ""
    profile.email = legacy_user.email or ""
    profile.organization = legacy_user.organization or ""


def record_authentication(user: AbstractBaseUser, scheme: str | None) -> AuthenticationEvent:
    return AuthenticationEvent.objects.create(
        user=user, occurred_at=timezone.now(), amr="pwd", password_scheme=scheme or ""
    )
