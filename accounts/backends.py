"""Django authentication backend over the legacy user source.

It answers only to ``authenticate(request, legacy_login=..., password=...)``, so the admin site's
``username``/``password`` form never reaches the legacy database and portal users can never log in
to the admin. Every attempt leaves an audit event with the precise reason.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

import audit
from accounts.authentication import AccountNeedsAttention, check_legacy_credentials
from accounts.legacy import LegacySourceUnavailable

log = logging.getLogger("idp_bridge.login")


class LegacyBackend(BaseBackend):
    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, legacy_login: str | None = None, password: str | None = None
    ) -> User | None:
        if legacy_login is None or password is None:
            return None
        ip = request.META.get("REMOTE_ADDR") if request is not None else None
        try:
            outcome = check_legacy_credentials(legacy_login, password)
        except LegacySourceUnavailable:
            log.warning("login unavailable: the legacy database did not answer")
            audit.record("login.unavailable", reason="legacy_unavailable", ip_address=ip)
            raise
        except AccountNeedsAttention as refused:
            log.warning("login refused reason=%s legacy_ids=%s", refused.reason, refused.legacy_ids)
            audit.record("login.failed", reason=refused.reason, ip_address=ip, legacy_ids=refused.legacy_ids)
            raise
        log.info(
            "login %s reason=%s legacy_id=%s scheme=%s",
            "ok" if outcome.ok else "failed",
            outcome.reason,
            outcome.legacy_id,
            outcome.scheme,
        )
        audit.record(
            "login.succeeded" if outcome.ok else "login.failed",
            reason=outcome.reason,
            legacy_id=outcome.legacy_id,
            user=outcome.user,
            ip_address=ip,
            scheme=outcome.scheme or "",
            **({"condition": outcome.detail} if outcome.detail else {}),
        )
        if request is not None:
            request.legacy_login_outcome = outcome  # type: ignore[attr-defined]
        return outcome.user

    def get_user(self, user_id: int) -> User | None:
        return (
            get_user_model()
            .objects.filter(pk=user_id, is_active=True, profile__isnull=False)
            .select_related("profile__subject")
            .first()
        )
