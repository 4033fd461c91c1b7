"""Start-up checks for the OpenID Connect side."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register()
def client_secret_hasher_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    if not any(path.endswith("ClientSecretHasher") for path in settings.PASSWORD_HASHERS):
        return [
            checks.Error(
                "PASSWORD_HASHERS does not include oidc.hashers.ClientSecretHasher.",
                hint="Keep it in PASSWORD_HASHERS (not first): stored client secrets are verified with it.",
                id="oidc.E001",
            )
        ]
    return []
