"""Globus Auth, through globus-sdk: the only module of the bridge that imports ``globus_sdk``.

The bridge is a confidential Globus Auth client. It asks Globus only four things: where to send a
user to log in, what a completed login proved (ID token, then the identity set of the session by
token introspection), which identities hold given usernames or ids, and which identity provider
serves a domain. Everything else (the linking policy, the audit trail) lives in
``accounts.globus_links``; nothing here writes to the database.

``GLOBUS_SDK_SERVICE_URL_AUTH`` (globus-sdk's own variable) is read by the SDK when a client is
made, so staging and tests can point the bridge at another Globus Auth.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import globus_sdk
import jwt
from django.conf import settings
from globus_sdk import IDTokenDecoder
from globus_sdk.authorizers import BasicAuthorizer
from globus_sdk.transport import RequestsTransport, RetryConfig, RetryContext

from idp_bridge.errors import BridgeError

log = logging.getLogger("idp_bridge.globus")

LOGIN_SCOPES = ("openid", "profile", "email")
INTROSPECT_INCLUDE = "identity_set,identity_set_detail,session_info"


# --- errors -------------------------------------------------------------------------------------
class GlobusError(BridgeError):
    """Root of the errors talking to Globus Auth."""


class GlobusNotConfigured(GlobusError):
    """BRIDGE_GLOBUS_CLIENT_ID / _SECRET are not set: linking is switched off."""


class GlobusUnavailable(GlobusError):
    """Globus Auth did not answer, answered 5xx, or answered something that is not its API."""


class GlobusRequestRefused(GlobusError):
    """Globus Auth refused a request (4xx): a bad parameter, or the bridge's credentials."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"Globus Auth answered {status} {code}")
        self.status, self.code = status, code


class GlobusLoginRejected(GlobusError):
    """A login callback that proves nothing: the reason is a short code for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- what Globus tells us -------------------------------------------------------------------------
@dataclass(frozen=True)
class GlobusIdentity:
    """One Globus identity, in the shape of ``GET /v2/api/identities`` and ``identity_set_detail``."""

    id: str
    username: str
    identity_provider: str
    status: str
    name: str = ""
    email: str = ""
    organization: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> GlobusIdentity:
        try:
            identity_id = str(uuid.UUID(str(data["id"])))
            provider = str(uuid.UUID(str(data["identity_provider"])))
            username = str(data["username"]).lower()  # Globus usernames are lower-case
        except (KeyError, TypeError, ValueError) as exc:
            raise GlobusUnavailable(f"Globus Auth sent an identity without a valid {exc}") from exc
        return cls(
            id=identity_id,
            username=username,
            identity_provider=provider,
            status=str(data.get("status") or ""),
            name=str(data.get("name") or ""),
            email=str(data.get("email") or ""),
            organization=str(data.get("organization") or ""),
        )


@dataclass(frozen=True)
class IdentityProvider:
    id: str
    name: str
    short_name: str
    domains: tuple[str, ...]


@dataclass(frozen=True)
class GlobusLogin:
    """What one completed Globus login proved.

    ``effective_identity`` is the ID token's ``sub``: the account's effective identity *for this
    app*, which may come from any provider, so it is never what a link is decided on. ``identities``
    is the whole identity set of the account; ``authenticated`` the ids that logged in to this session.
    """

    effective_identity: str
    identities: tuple[GlobusIdentity, ...]
    authenticated: frozenset[str]


# --- clients ------------------------------------------------------------------------------------
def is_configured() -> bool:
    return bool(settings.BRIDGE_GLOBUS_CLIENT_ID and settings.BRIDGE_GLOBUS_CLIENT_SECRET)


def _transport() -> RequestsTransport:
    return RequestsTransport(http_timeout=settings.BRIDGE_GLOBUS_TIMEOUT)


def _no_retries() -> RetryConfig:
    # An authorization code is single-use, and a user is waiting: one attempt, then a clear message.
    return RetryConfig(max_retries=0)


def login_client() -> globus_sdk.ConfidentialAppAuthClient:
    if not is_configured():
        raise GlobusNotConfigured("BRIDGE_GLOBUS_CLIENT_ID and BRIDGE_GLOBUS_CLIENT_SECRET are not set")
    return globus_sdk.ConfidentialAppAuthClient(
        settings.BRIDGE_GLOBUS_CLIENT_ID,
        settings.BRIDGE_GLOBUS_CLIENT_SECRET,
        transport=_transport(),
        retry_config=_no_retries(),
    )


def api_client() -> globus_sdk.AuthClient:
    """The Identities and Identity Providers APIs, called as the bridge's client (Basic auth)."""
    if not is_configured():
        raise GlobusNotConfigured("BRIDGE_GLOBUS_CLIENT_ID and BRIDGE_GLOBUS_CLIENT_SECRET are not set")
    authorizer = BasicAuthorizer(settings.BRIDGE_GLOBUS_CLIENT_ID, settings.BRIDGE_GLOBUS_CLIENT_SECRET)
    return globus_sdk.AuthClient(authorizer=authorizer, transport=_transport(), retry_config=_no_retries())


def auth_base_url() -> str:
    """Where Globus Auth is for this process (``GLOBUS_SDK_SERVICE_URL_AUTH`` or auth.globus.org)."""
    return str(globus_sdk.config.get_service_url("auth"))


@contextmanager
def _talking_to_globus(what: str) -> Iterator[None]:
    """Outages and 5xx become GlobusUnavailable; other refusals GlobusRequestRefused."""
    try:
        yield
    except globus_sdk.NetworkError as exc:
        log.warning("globus unavailable during %s: %s", what, type(exc).__name__)
        raise GlobusUnavailable(f"Globus Auth did not answer ({what})") from exc
    except globus_sdk.GlobusAPIError as exc:
        if exc.http_status >= 500:
            log.warning("globus answered %s during %s", exc.http_status, what)
            raise GlobusUnavailable(f"Globus Auth answered {exc.http_status} ({what})") from exc
        log.warning("globus refused %s: %s %s", what, exc.http_status, exc.code)
        raise GlobusRequestRefused(exc.http_status, str(exc.code)) from exc
    except ValueError as exc:  # a body that is not JSON: a proxy page, not Globus Auth
        raise GlobusUnavailable(f"Globus Auth's answer could not be read ({what})") from exc


# --- the login flow -----------------------------------------------------------------------------
def authorize_url(*, redirect_uri: str, state: str, nonce: str, required_domain: str, reverify: bool) -> str:
    """Where to send the browser: a Globus login that must include an identity from ``required_domain``."""
    client = login_client()
    client.oauth2_start_flow(redirect_uri, requested_scopes=LOGIN_SCOPES, state=state)
    return client.oauth2_get_authorize_url(
        session_required_single_domain=required_domain,
        prompt="login" if reverify else globus_sdk.MISSING,
        query_params={"nonce": nonce},
    )


def complete_login(*, redirect_uri: str, code: str, nonce: str) -> GlobusLogin:
    """Exchange the code, validate the ID token, and read the session's identity set.

    The tokens are used for nothing else and are revoked before returning; they are never stored
    or logged.
    """
    client = login_client()
    client.oauth2_start_flow(redirect_uri, requested_scopes=LOGIN_SCOPES)
    try:
        with _talking_to_globus("code exchange"):
            tokens = client.oauth2_exchange_code_for_tokens(code)
    except GlobusRequestRefused as exc:
        raise GlobusLoginRejected("code_rejected") from exc
    access_token = tokens.get("access_token")
    try:
        claims = _validated_id_token(client, tokens.get("id_token"), nonce)
        if not isinstance(access_token, str) or not access_token:
            raise GlobusLoginRejected("no_access_token")
        return _login_from_introspection(client, access_token, claims)
    finally:
        if isinstance(access_token, str) and access_token:
            _revoke(client, access_token)


def _validated_id_token(
    client: globus_sdk.ConfidentialAppAuthClient, id_token: object, nonce: str
) -> dict[str, Any]:
    if not isinstance(id_token, str) or not id_token:
        raise GlobusLoginRejected("no_id_token")
    decoder = IDTokenDecoder(client)
    try:
        with _talking_to_globus("ID token keys"):
            claims = decoder.decode(id_token)
            issuer = decoder.get_openid_configuration().get("issuer")
    except jwt.ExpiredSignatureError as exc:
        raise GlobusLoginRejected("id_token_expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise GlobusLoginRejected("id_token_audience") from exc
    except jwt.InvalidSignatureError as exc:
        raise GlobusLoginRejected("id_token_signature") from exc
    except jwt.InvalidTokenError as exc:
        raise GlobusLoginRejected("id_token_invalid") from exc
    if not issuer or claims.get("iss") != issuer:
        raise GlobusLoginRejected("id_token_issuer")
    if "nonce" in claims and claims["nonce"] != nonce:
        raise GlobusLoginRejected("nonce_mismatch")
    if not isinstance(claims.get("sub"), str):
        raise GlobusLoginRejected("id_token_invalid")
    return claims


def _login_from_introspection(
    client: globus_sdk.ConfidentialAppAuthClient, access_token: str, claims: Mapping[str, Any]
) -> GlobusLogin:
    with _talking_to_globus("token introspection"):
        data = client.oauth2_token_introspect(access_token, include=INTROSPECT_INCLUDE).data
    if not isinstance(data, dict) or data.get("active") is not True:
        raise GlobusLoginRejected("token_inactive")
    if data.get("sub") != claims["sub"]:
        raise GlobusLoginRejected("subject_mismatch")
    details = data.get("identity_set_detail")
    if not isinstance(details, list):
        raise GlobusUnavailable("Globus Auth's introspection had no identity_set_detail")
    identities = tuple(GlobusIdentity.from_api(item) for item in details if isinstance(item, dict))
    session = data.get("session_info") if isinstance(data.get("session_info"), dict) else {}
    authentications = session.get("authentications") if isinstance(session, dict) else None
    authenticated = (
        frozenset(str(k) for k in authentications) if isinstance(authentications, dict) else frozenset()
    )
    return GlobusLogin(str(claims["sub"]), identities, authenticated)


def _revoke(client: globus_sdk.ConfidentialAppAuthClient, token: str) -> None:
    try:
        with _talking_to_globus("token revocation"):
            client.oauth2_revoke_token(token)
    except GlobusError:
        # The token expires on its own; the link decision does not depend on revoking it.
        log.warning("globus token revocation failed; the token will expire on its own")


# --- lookups (admin tools, checks) ----------------------------------------------------------------
def get_identities(
    *, usernames: Iterable[str] = (), ids: Iterable[str] = (), provision: bool = False
) -> list[GlobusIdentity]:
    """``GET /v2/api/identities``: by usernames (optionally provisioning unknown ones) or by ids."""
    names, id_list = [u.lower() for u in usernames], list(ids)
    if bool(names) == bool(id_list):
        raise ValueError("give usernames or ids, not both and not neither")
    client = api_client()
    with _talking_to_globus("identities lookup"):
        if names:
            response = client.get_identities(usernames=names, provision=provision)
        else:
            response = client.get_identities(ids=id_list)
        data = response.data
    found = data.get("identities") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise GlobusUnavailable("Globus Auth's identities answer had no identities list")
    return [GlobusIdentity.from_api(item) for item in found if isinstance(item, dict)]


def get_identity_providers(*, domains: Iterable[str] = (), ids: Iterable[str] = ()) -> list[IdentityProvider]:
    """``GET /v2/api/identity_providers``: by domains or by ids."""
    domain_list, id_list = [d.lower() for d in domains], list(ids)
    if bool(domain_list) == bool(id_list):
        raise ValueError("give domains or ids, not both and not neither")
    client = api_client()
    with _talking_to_globus("identity providers lookup"):
        if domain_list:
            response = client.get_identity_providers(domains=domain_list)
        else:
            response = client.get_identity_providers(ids=id_list)
        data = response.data
    found = data.get("identity_providers") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise GlobusUnavailable("Globus Auth's identity providers answer had no identity_providers list")
    providers = []
    for item in found:
        if not isinstance(item, dict) or "id" not in item:
            continue
        providers.append(
            IdentityProvider(
                id=str(item["id"]).lower(),
                name=str(item.get("name") or ""),
                short_name=str(item.get("short_name") or ""),
                domains=tuple(str(d).lower() for d in item.get("domains") or ()),
            )
        )
    return providers


# --- bulk lookups as the bridge itself (the admin mapping tools) ----------------------------------
# Globus Auth resolves at most 100 usernames or ids per identities call: globus-sdk's IdentityMap
# batches by 100 and tells callers to keep that default. Callers split their work into batches.
MAX_IDENTITIES_PER_CALL = 100
MAPPING_SCOPES = (str(globus_sdk.AuthClient.scopes.view_identities),)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a bulk tool tries: ``retries`` after the first attempt, on 429, 5xx and network errors.

    The delay doubles from ``base_delay`` with jitter (x0.5 to x1.5); a ``Retry-After`` from Globus
    is honoured as given. No single wait exceeds ``max_delay``.
    """

    retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 120.0


RetryListener = Callable[[int | None, float], None]  # (HTTP status or None for no answer, delay)


class IdentityDirectory:
    """Identities by usernames or ids, asked as the bridge's own confidential client.

    The bridge authenticates with the client-credentials grant (a token for
    ``auth.globus.org:view_identities``, renewed by globus-sdk when it expires), and retries the
    answers worth retrying with exponential backoff and jitter: a batch job waits, a user does not.
    """

    def __init__(self, policy: RetryPolicy | None = None, on_retry: RetryListener | None = None) -> None:
        if not is_configured():
            raise GlobusNotConfigured("BRIDGE_GLOBUS_CLIENT_ID and BRIDGE_GLOBUS_CLIENT_SECRET are not set")
        self.policy, self.on_retry = policy or RetryPolicy(), on_retry
        retry_config = RetryConfig(
            max_retries=self.policy.retries, max_sleep=self.policy.max_delay, backoff=self._backoff
        )
        confidential = globus_sdk.ConfidentialAppAuthClient(
            settings.BRIDGE_GLOBUS_CLIENT_ID,
            settings.BRIDGE_GLOBUS_CLIENT_SECRET,
            transport=_transport(),
            retry_config=retry_config,
        )
        with _talking_to_globus("client credentials token"):  # the authorizer fetches one at once
            authorizer = globus_sdk.ClientCredentialsAuthorizer(confidential, MAPPING_SCOPES)
        self.client = globus_sdk.AuthClient(
            authorizer=authorizer, transport=_transport(), retry_config=retry_config
        )

    def _backoff(self, ctx: RetryContext) -> float:
        if ctx.backoff is not None:  # Globus said how long (Retry-After): wait exactly that
            delay = ctx.backoff
        else:
            jitter = 0.5 + random.random()  # noqa: S311 - spreading retries, not a secret
            delay = self.policy.base_delay * (2**ctx.attempt) * jitter
        delay = min(delay, self.policy.max_delay)
        if self.on_retry is not None:
            self.on_retry(ctx.response.status_code if ctx.response is not None else None, delay)
        return delay

    def by_usernames(self, usernames: Sequence[str], *, provision: bool) -> list[GlobusIdentity]:
        """The current holders of ``usernames`` (with ``provision``, Globus creates the missing ones)."""
        names = [u.lower() for u in usernames]
        _check_batch(names)
        with _talking_to_globus("identities lookup"):
            data = self.client.get_identities(usernames=names, provision=provision).data
        return _identities_from(data)

    def by_ids(self, ids: Sequence[str]) -> list[GlobusIdentity]:
        id_list = list(ids)
        _check_batch(id_list)
        with _talking_to_globus("identities lookup"):
            data = self.client.get_identities(ids=id_list).data
        return _identities_from(data)

    def current_by_ids(self, ids: Sequence[str]) -> dict[str, GlobusIdentity]:
        """What Globus says now of each of ``ids``, by id, in as many calls as the limit needs;
        an id Globus does not know is absent."""
        id_list = list(ids)
        found: dict[str, GlobusIdentity] = {}
        for start in range(0, len(id_list), MAX_IDENTITIES_PER_CALL):
            batch = id_list[start : start + MAX_IDENTITIES_PER_CALL]
            found.update((identity.id, identity) for identity in self.by_ids(batch))
        return found


def _check_batch(values: Sequence[str]) -> None:
    if not values or len(values) > MAX_IDENTITIES_PER_CALL:
        raise ValueError(f"ask Globus for 1 to {MAX_IDENTITIES_PER_CALL} identities at a time")


def _identities_from(data: object) -> list[GlobusIdentity]:
    found = data.get("identities") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise GlobusUnavailable("Globus Auth's identities answer had no identities list")
    return [GlobusIdentity.from_api(item) for item in found if isinstance(item, dict)]
