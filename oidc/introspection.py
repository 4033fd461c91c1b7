"""RFC 7662 token introspection, limited to tokens issued to the calling client.

A client learns nothing about other clients' tokens (they are reported inactive), so a leaked
client secret cannot be used to test stolen tokens of another relying party.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

INACTIVE: dict[str, object] = {"active": False}


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def introspect(token: str, client: object, token_type_hint: str | None) -> dict[str, object]:
    lookups = [_access_token_info, _refresh_token_info]
    if token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        info = lookup(_checksum(token), client)
        if info is not None:
            return info
    return INACTIVE


def _common(token: object, client: object) -> dict[str, object]:
    profile = getattr(token.user, "profile", None)  # type: ignore[attr-defined]
    info: dict[str, object] = {
        "active": True,
        "scope": token.scope if hasattr(token, "scope") else "",  # type: ignore[attr-defined]
        "client_id": client.client_id,  # type: ignore[attr-defined]
        "iss": settings.BRIDGE_ISSUER,
        "aud": client.client_id,  # type: ignore[attr-defined]
    }
    if profile is not None:
        info["sub"] = profile.sub
        info["username"] = profile.preferred_username
    return info


def _access_token_info(checksum: str, client: object) -> dict[str, object] | None:
    token = (
        get_access_token_model()
        .objects.select_related("user__profile__subject")
        .filter(token_checksum=checksum, application=client)
        .first()
    )
    if token is None or not token.is_valid():
        return None
    return _common(token, client) | {
        "token_type": "Bearer",
        "exp": int(token.expires.timestamp()),
        "iat": int(token.created.timestamp()),
    }


def _refresh_token_info(checksum: str, client: object) -> dict[str, object] | None:
    token = (
        get_refresh_token_model()
        .objects.select_related("user__profile__subject", "access_token")
        .filter(token_checksum=checksum, application=client, revoked__isnull=True)
        .first()
    )
    if token is None or token.access_token is None:
        return None
    info = _common(token.access_token, client) | {
        "token_type": "refresh_token",
        "iat": int(token.created.timestamp()),
    }
    lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    if lifetime:
        expires = token.access_token.expires + timedelta(seconds=lifetime)
        if expires <= timezone.now():
            return None
        info["exp"] = int(expires.timestamp())
    return info
