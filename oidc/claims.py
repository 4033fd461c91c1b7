"""The one place that maps a user to claims. Scope -> claims is plain data.

The ID token and userinfo both call ``released_claims`` with the same grant (scopes + the
``claims`` request parameter), so for one grant they carry the same values (DECISIONS.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile

SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "openid": ("sub",),
        "profile": ("name", "given_name", "family_name", "preferred_username", "organization"),
        "email": ("email", "email_verified"),
    }
)
SUPPORTED_CLAIMS: tuple[str, ...] = tuple(dict.fromkeys(c for cs in SCOPE_CLAIMS.values() for c in cs))
# Claims about the authentication event, not the user; the ID token always carries them.
AUTHENTICATION_CLAIMS = ("auth_time", "acr", "amr")
# What the consent and account pages call each claim (translated when shown).
CLAIM_LABELS: Mapping[str, str | Promise] = MappingProxyType(
    {
        "sub": _("A permanent identifier for your account"),
        "name": _("Your name"),
        "given_name": _("Your given name"),
        "family_name": _("Your family name"),
        "preferred_username": _("Your username"),
        "organization": _("Your organization"),
        "email": _("Your email address"),
        "email_verified": _("Whether your email address is verified"),
    }
)


def user_claims(profile: Profile) -> dict[str, object]:
    """Every claim this bridge can state about the user; a claim with no value is left out."""
    values: dict[str, object] = {
        "sub": profile.sub,
        "preferred_username": profile.preferred_username,
        "name": profile.name,
        "given_name": profile.given_name,
        "family_name": profile.family_name,
        "organization": profile.organization,
        "email": profile.email,
    }
    if profile.email:
        values["email_verified"] = settings.BRIDGE_EMAIL_VERIFIED
    return {k: v for k, v in values.items() if v not in (None, "")}


def claims_named_in_request(claims_request: Mapping[str, object] | None) -> set[str]:
    """User claims that the ``claims`` request parameter asks for, in either member."""
    names: set[str] = set()
    for member in ("id_token", "userinfo"):
        requested = (claims_request or {}).get(member)
        if isinstance(requested, Mapping):
            names.update(name for name in requested if name in SUPPORTED_CLAIMS)
    return names


def claim_names_for(scopes: Iterable[str], claims_request: Mapping[str, object] | None = None) -> list[str]:
    """Names of the user claims released for these scopes and ``claims`` request, in stable order."""
    scopes = set(scopes)
    if "openid" not in scopes:
        return []
    wanted = {c for scope in scopes for c in SCOPE_CLAIMS.get(scope, ())} | claims_named_in_request(
        claims_request
    )
    return [c for c in SUPPORTED_CLAIMS if c in wanted]


def released_claims(
    profile: Profile, scopes: Iterable[str], claims_request: Mapping[str, object] | None = None
) -> dict[str, object]:
    available = user_claims(profile)
    return {name: available[name] for name in claim_names_for(scopes, claims_request) if name in available}


def validate_claims_request(value: object) -> str | None:
    """Why a parsed ``claims`` parameter is malformed (OIDC Core 5.5), or None if it is fine."""
    if not isinstance(value, Mapping):
        return "claims must be a JSON object"
    for member, requests in value.items():
        if member not in ("id_token", "userinfo"):
            continue  # unknown members are ignored, as for any extension
        if not isinstance(requests, Mapping):
            return f"claims.{member} must be a JSON object"
        for name, spec in requests.items():
            if spec is not None and not isinstance(spec, Mapping):
                return f"claims.{member}.{name} must be null or a JSON object"
            if isinstance(spec, Mapping) and "values" in spec and not isinstance(spec["values"], list):
                return f"claims.{member}.{name}.values must be an array"
    return None


def requested_sub(claims_request: Mapping[str, object] | None) -> str | None:
    """A specific ``sub`` the client demands in the ID token (OIDC Core 5.5.1), if any."""
    id_token = (claims_request or {}).get("id_token")
    if isinstance(id_token, Mapping):
        spec = id_token.get("sub")
        if isinstance(spec, Mapping) and isinstance(spec.get("value"), str):
            return spec["value"]
    return None


def acr_satisfiable(claims_request: Mapping[str, object] | None, acr: str) -> bool:
    """False when the client demands, as essential, an ``acr`` this bridge cannot state (OIDC Core 5.5.1.1)."""
    id_token = (claims_request or {}).get("id_token")
    spec = id_token.get("acr") if isinstance(id_token, Mapping) else None
    if not isinstance(spec, Mapping) or not spec.get("essential"):
        return True
    values = spec.get("values")
    wanted: list[object] = values if isinstance(values, list) else [spec.get("value")]
    return acr in wanted or wanted == [None]


def parse_claims_request(raw: str | None) -> dict[str, object] | None:
    """The stored ``claims`` JSON of a grant or token, or None."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
