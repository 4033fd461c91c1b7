"""The discovery document (OpenID Connect Discovery 1.0, RFC 8414): every statement in it is true.

Nothing in it changes while the process runs, so it is built once.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from django.conf import settings
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.urls import reverse

from oidc.claims import AUTHENTICATION_CLAIMS, SCOPE_CLAIMS, SUPPORTED_CLAIMS
from oidc.keys import SIGNING_ALGORITHM

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _url(name: str) -> str:
    return settings.BRIDGE_ISSUER + reverse(name)


def document() -> dict[str, object]:
    return {
        "issuer": settings.BRIDGE_ISSUER,
        "authorization_endpoint": _url("oidc:authorize"),
        "token_endpoint": _url("oidc:token"),
        "userinfo_endpoint": _url("oidc:userinfo"),
        "jwks_uri": _url("oidc:jwks"),
        "end_session_endpoint": _url("oidc:logout"),
        "introspection_endpoint": _url("oidc:introspect"),
        "revocation_endpoint": _url("oidc:revoke"),
        "scopes_supported": list(SCOPE_CLAIMS),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            "nonce",
            "at_hash",
            *AUTHENTICATION_CLAIMS,
            *SUPPORTED_CLAIMS,
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "acr_values_supported": [settings.BRIDGE_ACR],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["en"],
    }


@cache
def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()


@cache
def document_etag() -> str:
    return '"' + hashlib.sha256(document_bytes()).hexdigest()[:32] + '"'


@receiver(setting_changed)
def _forget_document(**kwargs: object) -> None:
    # Tests (and only tests) change the issuer at run time.
    document_bytes.cache_clear()
    document_etag.cache_clear()
