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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from accounts.state import account_state
from oidc import claims as claims_module
from oidc import events, keys
from oidc.clients import client_id_possible
from oidc.models import Application, IDToken
from oidc.prepared import PreparedQuery

AccessToken = get_access_token_model()
Grant = get_grant_model()
RefreshToken = get_refresh_token_model()

# Everything userinfo, introspection and the claims need, in one indexed lookup: the token, its
# client and the user's profile, subject and username override (docs/performance.md).
USER_CLAIMS_PATH = "user__profile__subject__username_override"
ACCESS_TOKEN_BY_CHECKSUM: PreparedQuery[Any] = PreparedQuery(
    lambda digest: AccessToken.objects.select_related("application", USER_CLAIMS_PATH).filter(
        token_checksum=digest
    )[:1],
    samples=["\x00digest"],
)
# Code exchange: the grant, locked (two exchanges of one code must not both succeed), with its user.
LOCKED_GRANT: PreparedQuery[Any] = PreparedQuery(
    lambda code, application_id: (
        Grant.objects.select_for_update(of=("self",))
        .select_related(USER_CLAIMS_PATH)
        .filter(code=code, application_id=application_id)[:1]
    ),
    samples=["\x00code", -7_301_234_567],
)
GRANT_SCOPE: PreparedQuery[Any] = PreparedQuery(
    lambda code: Grant.objects.only("scope").filter(code=code)[:1], samples=["\x00code"]
)
# Refresh: every row of the token (rotation leaves revoked rows with the same checksum), locked,
# with what DOT's checks read (its client and access token) and what the claims need.
LOCKED_REFRESH_TOKENS: PreparedQuery[Any] = PreparedQuery(
    lambda digest: (
        RefreshToken.objects.select_for_update(of=("self",))
        .select_related("application", "access_token", USER_CLAIMS_PATH)
        .filter(token_checksum=digest)
    ),
    samples=["\x00digest"],
)

# Client authentication on every token, introspection and revocation request.
CLIENT_BY_ID: PreparedQuery[Any] = PreparedQuery(
    lambda client_id: Application.objects.filter(client_id=client_id)[:1], samples=["\x00client_id"]
)
# Rotation: an access token already minted from this refresh token (DOT's grace-period case).
ISSUED_FROM_REFRESH_TOKEN: PreparedQuery[Any] = PreparedQuery(
    lambda refresh_token_id: (
        AccessToken.objects.select_for_update()
        .only("pk")
        .filter(source_refresh_token_id=refresh_token_id)[:1]
    ),
    samples=[-7_301_234_568],
)


# The clients read during one HTTP request, by client_id. oauthlib validates an authorization
# request once to show it and again to answer it; within one request the row is read once.
_request_clients: ContextVar[dict[str, Any] | None] = ContextVar("bridge_request_clients", default=None)


@contextmanager
def clients_read_once() -> Iterator[None]:
    token = _request_clients.set({})
    try:
        yield
    finally:
        _request_clients.reset(token)


def client_read_in_this_request(client_id: str) -> Any:
    return (_request_clients.get() or {}).get(client_id)


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

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        seen = _request_clients.get()
        if seen is not None and request.client is None and client_id in seen:
            request.client = seen[client_id]  # DOT's _load_application reuses a matching request.client
        valid = bool(super().validate_client_id(client_id, request, *args, **kwargs))
        if seen is not None and valid:
            seen[client_id] = request.client
        return valid

    def _load_application(self, client_id: str, request: Any) -> Any:
        """DOT's, with the row read by a query compiled once per process: DOT reuses a
        ``request.client`` whose ``client_id`` matches, after its own checks."""
        if not client_id_possible(client_id):
            return None  # e.g. a NUL from a Basic header: PostgreSQL cannot compare it
        if not request.client:
            found = CLIENT_BY_ID.first(client_id)
            if found is not None and found.registration_source != found.RegistrationSource.CIMD:
                request.client = found
        return super()._load_application(client_id, request)

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
        grant = self._held_grant(code, request)
        if grant is not None:
            confirmed = grant.redirect_uri_allowed(redirect_uri)
        else:
            confirmed = super().confirm_redirect_uri(
                client_id, code, redirect_uri, client, request, *args, **kwargs
            )
        if not confirmed:
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
        grant = LOCKED_GRANT.first(code, client.pk)
        request.bridge_grant = grant  # read once: the PKCE, redirect URI, nonce and resource hooks reuse it
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

    # --- the grant, read once per code exchange -------------------------------------------------
    # Stock DOT reads the grant again in each of these hooks (six queries per code exchange).
    # validate_code runs first and keeps the row it locked on the request; these use it.
    @staticmethod
    def _held_grant(code: str, request: Any) -> Any:
        grant = getattr(request, "bridge_grant", None)
        client = getattr(request, "client", None)
        if grant is None or grant.code != code or client is None or grant.application_id != client.pk:
            return None
        return grant

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        grant = self._held_grant(code, request)
        if grant is None:
            return super().get_code_challenge(code, request)  # type: ignore[no-any-return]
        return grant.code_challenge or None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        grant = self._held_grant(code, request)
        if grant is None:
            return super().get_code_challenge_method(code, request)  # type: ignore[no-any-return]
        return grant.code_challenge_method or None

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> str | None:
        grant = self._held_grant(code, request)
        if grant is None:
            return super().get_authorization_code_nonce(client_id, code, redirect_uri, request)  # type: ignore[no-any-return]
        return grant.nonce or None

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        # Asked by oauthlib's dispatcher before the client is authenticated, so before validate_code:
        # a read of the scope alone (the locked read comes with validate_code).
        grant = self._held_grant(code, request) or GRANT_SCOPE.first(code)
        return grant.scope.split() if grant is not None and grant.scope else []

    def _check_and_set_request_resource(self, request: Any) -> None:
        grant = (
            self._held_grant(request.code, request) if request.grant_type == "authorization_code" else None
        )
        if grant is None:
            super()._check_and_set_request_resource(request)
            return
        # DOT's checks as they are, with the grant's resources read from the row in hand: the
        # grant_type is shown as something DOT does not look further into, then put back.
        request.grant_type = "bridge:authorization_code(held)"
        try:
            super()._check_and_set_request_resource(request)
        finally:
            request.grant_type = "authorization_code"
        grant_resource = grant.resource or []
        if request.resource and grant_resource:
            for resource in request.resource:
                if resource not in grant_resource:
                    raise oauth_errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=f"The requested resource '{resource}' is not allowed. Token request "
                        "cannot escalate resource permissions beyond the original authorization grant",
                        request=request,
                    )
        elif grant_resource:
            self._validate_resource_uris(request, grant_resource)
            request.resource = grant_resource

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
        # The same query brings the user's profile, subject and username override for the checks
        # and claims below (only the token rows are locked).
        locked = LOCKED_REFRESH_TOKENS.all(checksum(refresh_token))
        live = [row for row in locked if row.revoked is None]
        if len(live) == 1:
            valid = self._live_refresh_token_valid(live[0], refresh_token, client, request)
        else:
            # Revoked (a replay, or a retry within the grace period) or unknown: DOT decides, with
            # its reuse protection, reading the rows again (rare, so not worth a copy of its code).
            valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
            if valid:
                joined = next((row.user for row in locked if row.user_id == request.user.pk), None)
                request.user = joined or request.user
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
    def _live_refresh_token_valid(token: Any, presented: str, client: Any, request: Any) -> bool:
        """DOT's checks of an unrevoked refresh token (``OAuth2Validator.validate_refresh_token``),
        on the row already read and locked, whose client, access token and user came with it."""
        if token.access_token is None:
            return False  # an orphan: its access token was deleted out of band
        expire_delta = refresh_token_expire_timedelta()
        if expire_delta and token.access_token.expires + expire_delta <= timezone.now():
            return False
        request.user = token.user
        request.refresh_token = presented
        request.refresh_token_instance = token
        if transaction.get_connection().in_atomic_block:  # the row lock holds until the tokens are saved
            request.bridge_locked_refresh_token = token
        return bool(token.application_id == client.pk)

    def _save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        """DOT's, except for the usual rotation, done on the refresh token row locked and read
        (with its access token) by ``validate_refresh_token`` in this transaction: DOT would read
        the row twice more and its access token once more before revoking them."""
        locked: Any = getattr(request, "bridge_locked_refresh_token", None)
        if locked is None or not self._rotates_as_usual(locked, token, request):
            super()._save_bearer_token(token, request, *args, **kwargs)
            return
        self._check_and_set_request_resource(request)
        expires = timezone.now() + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        # RefreshToken.revoke() on a row known to be live and locked: its access token goes (DOT's
        # AccessToken.revoke deletes it, which also clears the reference), then the row is revoked.
        if locked.access_token is not None:
            locked.access_token.revoke()
        locked.access_token = None
        locked.revoked = timezone.now()
        locked.save(update_fields=["access_token", "revoked"])
        request.refresh_token_instance = None
        access_token = self._create_access_token(expires, request, token, source_refresh_token=locked)
        self._create_refresh_token(request, token["refresh_token"], access_token, locked)

    def _rotates_as_usual(self, locked: Any, token: dict[str, Any], request: Any) -> bool:
        current: Any = getattr(request, "refresh_token_instance", None)
        return (
            locked is current
            and bool(token.get("refresh_token"))
            and "scope" in token
            and bool(self.rotate_refresh_token(request))
            and ISSUED_FROM_REFRESH_TOKEN.first(locked.pk) is None
        )

    @staticmethod
    def _revoke_tokens_from_replayed_code(code: str, client: Any) -> None:
        """A code presented twice was stolen or replayed: revoke what the first exchange issued."""
        replayed = checksum(code)
        access_tokens = AccessToken.objects.filter(code_checksum=replayed, application=client)
        revoked = access_tokens.count()  # counted first: revoking a refresh token deletes its access token
        for refresh_token in RefreshToken.objects.filter(
            code_checksum=replayed, application=client, revoked__isnull=True
        ):
            refresh_token.revoke()
            revoked += 1
        access_tokens.delete()
        if revoked:
            events.replayed_code(client, revoked)

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        events.tokens_granted(request, getattr(request, "bridge_refresh_token", None))
        return saved

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        events.token_revoked(request, token_type_hint)

    def _create_authorization_code(self, request: Any, code: dict[str, str], expires: Any = None) -> Any:
        grant = super()._create_authorization_code(request, code, expires)
        for field, value in _auth_context_fields(request).items():
            setattr(grant, field, value)
        grant.save(update_fields=list(_auth_context_fields(request)))
        return grant

    def _create_access_token(
        self, expires: datetime, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=self._issued_id_token(request, token.get("id_token")),
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
        request.bridge_refresh_token = refresh_token  # for the audit event (save_bearer_token)
        return refresh_token

    def _issued_id_token(self, request: Any, id_token: str | None) -> Any:
        """The IDToken row of the ID token this request just signed (finalize_id_token saved it).

        Stock DOT finds it again by verifying the JWT it has just signed and looking up its jti."""
        if not id_token:
            return None
        saved = getattr(request, "id_token", None)
        if isinstance(saved, IDToken) and saved.pk is not None:
            return saved
        return self._load_id_token(id_token)

    def _load_access_token(self, token: str) -> Any:
        return ACCESS_TOKEN_BY_CHECKSUM.first(checksum(token))

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
