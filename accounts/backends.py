"""Django authentication backend over the legacy user source.

It answers only to ``authenticate(request, legacy_login=..., password=...)``, so the admin site's
``username``/``password`` form never reaches the legacy database and portal users can never log in
to the admin.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from accounts.authentication import check_legacy_credentials


class LegacyBackend(BaseBackend):
    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, legacy_login: str | None = None, password: str | None = None
    ) -> AbstractBaseUser | None:
        if legacy_login is None or password is None:
            return None
        outcome = check_legacy_credentials(legacy_login, password)
        if request is not None:
            request.legacy_login_outcome = outcome  # type: ignore[attr-defined]
        return outcome.user

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        return (
            get_user_model()
            .objects.filter(pk=user_id, is_active=True, profile__isnull=False)
            .select_related("profile__subject")
            .first()
        )
