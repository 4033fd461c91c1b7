"""A thin OAuth2Validator subclass: claims come from oidc.claims, keys from oidc.keys.

What it adds to stock DOT, each a known gap:
- the authentication context (auth_time of the real password check, amr, acr) and the ``claims``
  request travel from the authorization to the code, the access token and every refresh;
- ID token and userinfo claims both come from ``claims.released_claims`` for the same grant;
- the registered token endpoint auth method is the only one accepted;
- ID tokens are signed with the bridge's active key and verified by ``kid`` against every
  published key, so a rotation does not break ``id_token_hint`` or logout.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from accounts.state import account_state
from oidc import claims as claims_module
from oidc import keys
from oidc.models import Application

AccessToken = get_access_token_model()
Grant = get_grant_model()
RefreshToken = get_refresh_token_model()


def _auth_context_from(source: Any) -> dict[str, Any]:
    return {
        "bridge_auth_time": source.auth_time,
        "bridge_amr": source.amr.split(),
        "bridge_acr": source.acr,
    }


def _auth_context_fields(request: Any) -> dict[str, Any]:
    return {
        "auth_time": getattr(request, "bridge_auth_time", None),
        "amr": " ".join(getattr(request, "bridge_amr", None) or []),
        "acr": getattr(request, "bridge_acr", "") or "",
    }


def refresh_session_expired(refresh_token: Any) -> bool:
    """Refreshing never extends access past BRIDGE_REFRESH_TOKEN_SECONDS after the real login."""
    auth_time = refresh_token.auth_time
    limit = timedelta(seconds=settings.REFRESH_TOKEN_SECONDS)
    return auth_time is None or timezone.now() - auth_time > limit


def account_usable(user: Any) -> bool:
    """Tokens of a suspended, deleted or expired portal account stop working (cached re-check)."""
    profile = getattr(user, "profile", None)
    return profile is not None and account_state(profile).usable


def checksum(value: str) -> str:
    """SHA-256 hex of a token or code: how DOT stores them, and how every lookup here finds them."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _token_lineage(request: Any) -> dict[str, str]:
    """What a new token inherits from the request: the claims asked for and the code it came from."""
    if request.grant_type == "authorization_code":
        code_checksum = checksum(request.code)
    else:
        code_checksum = getattr(request, "bridge_code_checksum", "")
    return {"claims_request": _claims_request_json(request), "code_checksum": code_checksum}


def _claims_request_json(request: Any) -> str:
    requested = getattr(request, "claims", None)
    return json.dumps(requested, separators=(",", ":")) if isinstance(requested, dict) and requested else ""


class BridgeValidator(OAuth2Validator):
    # --- client authentication ------------------------------------------------------------------
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        # RFC 6749 2.3: a client uses one authentication method, the one it registered.
        if self._extract_basic_auth(request):
            ok = self._authenticate_basic_auth(request)
            method = Application.AuthMethod.CLIENT_SECRET_BASIC
        else:
            ok = self._authenticate_request_body(request)
            method = Application.AuthMethod.CLIENT_SECRET_POST
        return bool(ok) and request.client.token_endpoint_auth_method == method

    def _extract_basic_auth(self, request: Any) -> str | None:
        # RFC 7235 2.1: the scheme name is case-insensitive ("basic", "BASIC").
        auth = request.headers.get("HTTP_AUTHORIZATION") or ""
        scheme, _, credentials = auth.partition(" ")
        return credentials.strip() if scheme.lower() == "basic" and credentials.strip() else None

    def _authenticate_basic_auth(self, request: Any) -> bool:
        # RFC 7617 credentials are base64, i.e. ASCII; DOT's decoder raises on anything else.
        credentials = self._extract_basic_auth(request)
        if credentials is not None and not credentials.isascii():
            return False
        return bool(super()._authenticate_basic_auth(request))

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if not super().confirm_redirect_uri(client_id, code, redirect_uri, client, request, *args, **kwargs):
            # RFC 6749 5.2 names invalid_grant for this; oauthlib would answer invalid_request.
            raise oauth_errors.InvalidGrantError(
                description="redirect_uri does not match the one in the authorization request",
                request=request,
            )
        return True

    # --- what may be asked for ---------------------------------------------------------------------
    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Scopes this provider does not know are ignored (OIDC Core 3.1.2.1), not an error:
        relying parties routinely add offline_access, address or phone."""
        known = [scope for scope in scopes if scope in claims_module.SCOPE_CLAIMS]
        if known != list(scopes):
            request.scopes = known
        return bool(known) or not scopes

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if response_type != "code":
            raise oauth_errors.UnsupportedResponseTypeError(request=request)
        return bool(client.allows_grant_type(Application.GRANT_AUTHORIZATION_CODE))

    # --- carrying the authentication context ----------------------------------------------------
    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        # Locked: two concurrent exchanges of one code must not both succeed (the loser gets invalid_grant).
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("user__profile__subject")
            .filter(code=code, application=client)
            .first()
        )
        if grant is None:
            self._revoke_tokens_from_replayed_code(code, client)
            return False
        if grant.is_expired():
            return False
        if not grant.code_challenge and getattr(request, "code_verifier", None):
            # RFC 9700 4.8.2: a verifier for a code issued without a challenge is a PKCE downgrade.
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = claims_module.parse_claims_request(grant.claims)
        for name, value in _auth_context_from(grant).items():
            setattr(request, name, value)
        return True

    def validate_bearer_token(self, token: str, scopes: Any, request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        if not account_usable(request.user):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The account is no longer active.",
            }
            return False
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        # Lock the token's rows first: concurrent refreshes of one token then queue up, and every
        # one after the first meets a revoked token (reuse detection) instead of a half-rotated one.
        list(RefreshToken.objects.select_for_update().filter(token_checksum=checksum(refresh_token)))
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid and not account_usable(request.user):
            return False  # invalid_grant: the portal account was suspended, deleted or expired
        if valid and refresh_session_expired(request.refresh_token_instance):
            return False  # invalid_grant: the password check it stems from is too old
        if valid:
            token = request.refresh_token_instance
            for name, value in _auth_context_from(token).items():
                setattr(request, name, value)
            request.claims = token.requested_claims()
            request.bridge_code_checksum = token.code_checksum
        return bool(valid)

    @staticmethod
    def _revoke_tokens_from_replayed_code(code: str, client: Any) -> None:
        """A code presented twice was stolen or replayed: revoke what the first exchange issued."""
        replayed = checksum(code)
        for refresh_token in RefreshToken.objects.filter(
            code_checksum=replayed, application=client, revoked__isnull=True
        ):
            refresh_token.revoke()
        AccessToken.objects.filter(code_checksum=replayed, application=client).delete()

    def _create_authorization_code(self, request: Any, code: dict[str, str], expires: Any = None) -> Any:
        grant = super()._create_authorization_code(request, code, expires)
        for field, value in _auth_context_fields(request).items():
            setattr(grant, field, value)
        grant.save(update_fields=list(_auth_context_fields(request)))
        return grant

    def _create_access_token(
        self, expires: datetime, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        id_token = token.get("id_token")
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=self._load_id_token(id_token) if id_token else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
            **_token_lineage(request),
            **_auth_context_fields(request),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=getattr(request, "resource", []),
            **_token_lineage(request),
            **_auth_context_fields(request),
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def _load_access_token(self, token: str) -> Any:
        return (
            AccessToken.objects.select_related("application", "user__profile__subject")
            .filter(token_checksum=checksum(token))
            .first()
        )

    # --- claims -----------------------------------------------------------------------------------
    def get_oidc_claims(self, token: Any, token_handler: Any, request: Any) -> dict[str, object]:
        requested = request.claims if isinstance(getattr(request, "claims", None), dict) else None
        return claims_module.released_claims(request.user.profile, request.scopes, requested)

    def get_userinfo_claims(self, request: Any) -> dict[str, object]:
        access_token = request.access_token
        return claims_module.released_claims(
            request.user.profile, access_token.scope.split(), access_token.requested_claims()
        )

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Any
    ) -> tuple[dict[str, Any], datetime]:
        id_claims = self.get_oidc_claims(token, token_handler, request)
        expiration_time = timezone.now() + timedelta(seconds=oauth2_settings.ID_TOKEN_EXPIRE_SECONDS)
        auth_time = getattr(request, "bridge_auth_time", None)
        if auth_time is None:
            raise ValueError("an ID token without an authentication event")  # a bug, never user input
        id_claims.update(
            {
                "iss": settings.BRIDGE_ISSUER,
                "exp": int(expiration_time.timestamp()),
                "auth_time": int(auth_time.astimezone(UTC).timestamp()),
                "jti": str(uuid.uuid4()),
            }
        )
        if getattr(request, "bridge_acr", ""):
            id_claims["acr"] = request.bridge_acr
        if getattr(request, "bridge_amr", None):
            id_claims["amr"] = list(request.bridge_amr)
        return id_claims, expiration_time

    def finalize_id_token(
        self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any
    ) -> str:
        id_claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(id_claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce  # oauthlib bug #746
        signed = keys.sign(id_token)
        saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = saved
        request.id_token = saved
        return signed

    def _get_key_for_token(self, token: str) -> jwk.JWK | None:
        """The published key named by the token's ``kid`` (any state): rotation must not break hints."""
        return keys.verification_key(token)

    # --- decided by the AuthorizeView, which has the browser session -----------------------------
    def validate_silent_login(self, request: Any) -> bool:
        """prompt=none login state is checked by oidc.views.AuthorizeView before oauthlib runs."""
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        """prompt=none consent state is checked by oidc.views.AuthorizeView before oauthlib runs."""
        return True

    def validate_user_match(self, id_token_hint: Any, scopes: Any, claims: Any, request: Any) -> bool:
        """id_token_hint is verified against the session by oidc.views.AuthorizeView."""
        return True
