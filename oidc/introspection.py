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
from oidc.prepared import PreparedQuery
from oidc.validators import USER_CLAIMS_PATH, account_usable, checksum

INACTIVE: dict[str, object] = {"active": False}

# One indexed lookup each, with the user's profile, subject and username override joined in.
ACCESS_TOKEN_OF_CLIENT: PreparedQuery[Any] = PreparedQuery(
    lambda digest, application_id: (
        get_access_token_model()
        .objects.select_related(USER_CLAIMS_PATH)
        .filter(token_checksum=digest, application_id=application_id)[:1]
    ),
    samples=["\x00digest", -7_301_234_567],
)
LIVE_REFRESH_TOKEN_OF_CLIENT: PreparedQuery[Any] = PreparedQuery(
    lambda digest, application_id: (
        get_refresh_token_model()
        .objects.select_related(USER_CLAIMS_PATH, "access_token")
        .filter(token_checksum=digest, application_id=application_id, revoked__isnull=True)[:1]
    ),
    samples=["\x00digest", -7_301_234_567],
)


def introspect(token: str, client: Any, token_type_hint: str | None) -> dict[str, object]:
    lookups = [_access_token_info, _refresh_token_info]
    if token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        info = lookup(checksum(token), client)
        if info is not None:
            return info
    return INACTIVE


def _common(token: Any, client: Any, user: Any) -> dict[str, object]:
    info: dict[str, object] = {
        "active": True,
        "scope": token.scope,
        "client_id": client.client_id,
        "iss": settings.BRIDGE_ISSUER,
        "aud": client.client_id,
    }
    # Who the token is about, only as far as its grant released it (the same gate as userinfo).
    profile = getattr(user, "profile", None)
    if profile is not None:
        released = released_claims(profile, token.scope.split(), token.requested_claims())
        if "sub" in released:
            info["sub"] = released["sub"]
        if "preferred_username" in released:
            info["username"] = released["preferred_username"]
    return info


def _access_token_info(digest: str, client: Any) -> dict[str, object] | None:
    token = ACCESS_TOKEN_OF_CLIENT.first(digest, client.pk)
    if token is None or not token.is_valid() or not account_usable(token.user):
        return None
    return _common(token, client, token.user) | {
        "token_type": "Bearer",
        "exp": int(token.expires.timestamp()),
        "iat": int(token.created.timestamp()),
    }


def _refresh_token_info(digest: str, client: Any) -> dict[str, object] | None:
    token = LIVE_REFRESH_TOKEN_OF_CLIENT.first(digest, client.pk)
    if token is None or token.access_token is None or not account_usable(token.user):
        return None
    # No token_type: RFC 7662 2.2 takes it from the RFC 6749 7.1 registry, which names access token types.
    info = _common(token.access_token, client, token.user) | {"iat": int(token.created.timestamp())}
    lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
    if lifetime:
        expires = token.access_token.expires + timedelta(seconds=lifetime)
        if expires <= timezone.now():
            return None
        info["exp"] = int(expires.timestamp())
    return info
