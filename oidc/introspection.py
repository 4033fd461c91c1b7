"""RFC 7662 token introspection, limited to tokens issued to the calling client.

A client learns nothing about other clients' tokens (they are reported inactive), so a leaked
client secret cannot be used to test stolen tokens of another relying party.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from oidc.claims import released_claims
from oidc.validators import account_usable, checksum

INACTIVE: dict[str, object] = {"active": False}


def introspect(token: str, client: object, token_type_hint: str | None) -> dict[str, object]:
    lookups = [_access_token_info, _refresh_token_info]
    if token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        info = lookup(checksum(token), client)
        if info is not None:
            return info
    return INACTIVE


def _common(token: Any, client: Any) -> dict[str, object]:
    info: dict[str, object] = {
        "active": True,
        "scope": token.scope,
        "client_id": client.client_id,
        "iss": settings.BRIDGE_ISSUER,
        "aud": client.client_id,
    }
    # Who the token is about, only as far as its grant released it (the same gate as userinfo).
    profile = getattr(token.user, "profile", None)
    if profile is not None:
        released = released_claims(profile, token.scope.split(), token.requested_claims())
        if "sub" in released:
            info["sub"] = released["sub"]
        if "preferred_username" in released:
            info["username"] = released["preferred_username"]
    return info


def _access_token_info(digest: str, client: object) -> dict[str, object] | None:
    token = (
        get_access_token_model()
        .objects.select_related("user__profile__subject")
        .filter(token_checksum=digest, application=client)
        .first()
    )
    if token is None or not token.is_valid() or not account_usable(token.user):
        return None
    return _common(token, client) | {
        "token_type": "Bearer",
        "exp": int(token.expires.timestamp()),
        "iat": int(token.created.timestamp()),
    }


def _refresh_token_info(digest: str, client: object) -> dict[str, object] | None:
    token = (
        get_refresh_token_model()
        .objects.select_related("user__profile__subject", "access_token")
        .filter(token_checksum=digest, application=client, revoked__isnull=True)
        .first()
    )
    if token is None or token.access_token is None or not account_usable(token.user):
        return None
    # No token_type: RFC 7662 2.2 takes it from the RFC 6749 7.1 registry, which names access token types.
    info = _common(token.access_token, client) | {"iat": int(token.created.timestamp())}
    lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    if lifetime:
        expires = token.access_token.expires + timedelta(seconds=lifetime)
        if expires <= timezone.now():
            return None
        info["exp"] = int(expires.timestamp())
    return info
