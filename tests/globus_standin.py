"""A local Globus Auth, speaking Globus Auth's documented shapes over real HTTP.

globus-sdk reaches it through ``GLOBUS_SDK_SERVICE_URL_AUTH`` exactly as it would reach
auth.globus.org. Endpoints:

- ``/.well-known/openid-configuration`` and ``/jwk.json`` (the active RSA key first, RS512)
- ``/v2/oauth2/authorize``: honours ``session_required_single_domain`` and ``prompt=login``; a user
  without a suitable session is sent to the upstream identity provider
- ``/p/authenticate/callback``: the return from the upstream IdP, as at auth.globus.org. The
  upstream is the bridge itself: the stand-in is a confidential OIDC client of the bridge, exchanges
  the code, validates the bridge's ID token and maps its ``sub`` to a Globus identity
- ``/v2/oauth2/token`` (authorization_code; codes are single-use), ``/v2/oauth2/userinfo``,
  ``/v2/oauth2/token/introspect`` (``include=identity_set,identity_set_detail,session_info``),
  ``/v2/oauth2/token/revoke``
- ``/v2/api/identities`` (``usernames=`` with ``provision=true``, or ``ids=``) and
  ``/v2/api/identity_providers`` (``domains=`` or ``ids=``), with client Basic auth or a bearer token

Like Globus, an account is a set of identities with a primary one; the ID token's ``sub`` is the
account's *effective* identity for the app (here: the primary), which may come from any provider.
Identities from an OIDC IdP are keyed on the IdP's ``sub``; a username can be reused by a new
identity, and ``/v2/api/identities?usernames=`` answers with its current holder.

Test controls: ``fail(status, paths)`` makes endpoints answer an error (``fail_next`` only the next
few calls, optionally with ``Retry-After``); ``tamper_next_id_token``
rewrites the claims or signing key of the next ID token; ``auto_login`` logs a chosen identity in
when no upstream IdP is configured. ``token`` also grants ``client_credentials`` (a bearer token
for the client itself); ``api_auth`` records how each API call authenticated. Like Globus, an
identities call takes at most 100 usernames or ids.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

GLOBUSID_IDP = "41143743-f3c8-4d60-bbdb-eeecaba85bd9"
ELSEWHERE_IDP = "7daddf46-70c5-45ee-9f0f-7244fe7c8707"
BRIDGE_IDP = "8a5e1c3e-5b7c-4b4e-9a51-0d6f1f4c2b10"
BRIDGE_CLIENT_ID = "5f2c4a39-2d0e-4b1b-9d52-1c8e7a8f3b6e"
BRIDGE_CLIENT_SECRET = "bridge-globus-client-secret-" + "z" * 24
UPSTREAM_CLIENT_ID = "globus-standin"
UPSTREAM_CLIENT_SECRET = "globus-standin-upstream-secret-" + "u" * 24
CALLBACK_PATH = "/p/authenticate/callback"
SESSION_COOKIE = "globus_standin_session"
ALGORITHM = "RS512"
TOKEN_SECONDS = 172800
MAX_IDENTITIES_PER_CALL = 100


@dataclass
class Provider:
    id: str
    name: str
    short_name: str
    domains: list[str]

    def api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "domains": self.domains,
            "alternative_names": [],
        }


@dataclass
class Identity:
    id: str
    username: str
    identity_provider: str
    status: str = "used"
    name: str | None = None
    email: str | None = None
    organization: str | None = None
    upstream_sub: str | None = None

    def api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "status": self.status,
            "identity_provider": self.identity_provider,
            "name": self.name,
            "email": self.email,
            "organization": self.organization,
        }


@dataclass
class Client:
    client_id: str
    secret: str
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Upstream:
    """The bridge, as this Globus's upstream OIDC identity provider."""

    issuer: str
    idp_id: str
    client_id: str = UPSTREAM_CLIENT_ID
    client_secret: str = UPSTREAM_CLIENT_SECRET


@dataclass
class Session:
    id: str
    authentications: dict[str, int] = field(default_factory=dict)  # identity id -> auth_time
    last: str | None = None


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    session: Session


class StandInError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


_KEYS: list[rsa.RSAPrivateKey] = []


def _signing_keys() -> list[rsa.RSAPrivateKey]:
    # RSA key generation is slow; one pair per test process is enough.
    if not _KEYS:
        _KEYS.extend(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    return _KEYS


class GlobusAuthStandIn:
    def __init__(self) -> None:
        self.keys = _signing_keys()
        self.kids = [f"standin-{i}" for i in range(2)]
        self.providers: dict[str, Provider] = {}
        self.identities: dict[str, Identity] = {}
        self.accounts: dict[str, list[str]] = {}  # primary identity id -> all identity ids (primary first)
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Grant] = {}
        self.sessions: dict[str, Session] = {}
        self.pending: dict[str, dict[str, str]] = {}
        self.upstream: Upstream | None = None
        self.auto_login: str | None = None
        self.failures: dict[str, int] = {}
        self.tamper_next_id_token: Callable[[dict[str, Any]], tuple[dict[str, Any], Any]] | None = None
        self.seen: list[tuple[str, str, dict[str, list[str]]]] = []  # method, path, parameters
        self.seen_at: list[tuple[float, str]] = []  # time.monotonic(), path
        self.queued_failures: dict[str, list[tuple[int, int | None]]] = {}  # path -> (status, retry_after)
        self.api_auth: list[str] = []  # "bearer" or "basic", per identities / identity providers call
        self.lock = threading.RLock()
        self.add_provider(GLOBUSID_IDP, "Globus ID", "globusid", ["globusid.org"])
        self.add_provider(ELSEWHERE_IDP, "University of Elsewhere", "elsewhere", ["elsewhere.edu"])
        self._server: ThreadingHTTPServer | None = None

    # --- running ---------------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- data ------------------------------------------------------------------------------------
    def add_provider(self, provider_id: str, name: str, short_name: str, domains: list[str]) -> Provider:
        self.providers[provider_id] = Provider(provider_id, name, short_name, domains)
        return self.providers[provider_id]

    def add_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> Client:
        self.clients[client_id] = Client(client_id, secret, list(redirect_uris))
        return self.clients[client_id]

    def add_identity(self, username: str, provider_id: str, **fields: Any) -> Identity:
        identity = Identity(str(uuid.uuid4()), username.lower(), provider_id, **fields)
        with self.lock:
            self.identities[identity.id] = identity
            self.accounts.setdefault(identity.id, [identity.id])
        return identity

    def link(self, primary: Identity, *others: Identity) -> None:
        """Join identities into the account whose primary is ``primary`` (as a user does at Globus)."""
        with self.lock:
            members = self.accounts.pop(primary.id, [primary.id])
            for other in others:
                for ids in self.accounts.values():
                    if other.id in ids:
                        ids.remove(other.id)
                self.accounts.pop(other.id, None)
                members.append(other.id)
            self.accounts[primary.id] = members

    def account_of(self, identity_id: str) -> list[str]:
        with self.lock:
            for ids in self.accounts.values():
                if identity_id in ids:
                    return ids
        return [identity_id]

    def current_holder(self, username: str) -> Identity | None:
        holders = [i for i in self.identities.values() if i.username == username.lower()]
        return holders[-1] if holders else None

    def federate(
        self, issuer: str, idp_id: str, domains: list[str], name: str = "Example Research Portal"
    ) -> None:
        self.add_provider(idp_id, name, "bridge", domains)
        self.upstream = Upstream(issuer.rstrip("/"), idp_id)

    def fail(self, status: int, paths: tuple[str, ...] = ()) -> None:
        """Answer ``status`` on these paths (all paths when empty) until ``recover()``."""
        self.failures = {path: status for path in paths} if paths else {"*": status}

    def recover(self) -> None:
        self.failures = {}

    def fail_next(
        self, status: int, path: str, *, times: int = 1, retry_after: int | None = None, after: int = 0
    ) -> None:
        """Answer ``status`` (with ``Retry-After`` when given) to ``times`` calls of ``path``, once
        ``after`` more calls of it have been answered normally."""
        with self.lock:
            queue = self.queued_failures.setdefault(path, [])
            queue.extend([(0, None)] * after + [(status, retry_after)] * times)

    def calls(self, path: str) -> list[float]:
        """When ``path`` was called (time.monotonic()), in order."""
        return [at for at, seen in self.seen_at if seen == path]

    # --- tokens ----------------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(
            claims, key or self.keys[0], algorithm=ALGORITHM, headers={"kid": kid or self.kids[0]}
        )

    def id_token_for(self, grant: Grant, primary: Identity) -> str:
        now = int(time.time())
        auth_time = max(grant.session.authentications.values(), default=now)
        provider = self.providers.get(primary.identity_provider)
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": grant.client_id,
            "sub": primary.id,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "last_authentication": auth_time,
            "preferred_username": primary.username,
            "identity_provider": primary.identity_provider,
            "identity_provider_display_name": provider.name if provider else "",
            "name": primary.name,
            "email": primary.email,
            "organization": primary.organization,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = None
        if self.tamper_next_id_token is not None:
            tamper, self.tamper_next_id_token = self.tamper_next_id_token, None
            claims, key = tamper(claims)
        return self.sign(claims, key)

    def public_jwks(self) -> dict[str, Any]:
        keys = []
        for key, kid in zip(self.keys, self.kids, strict=True):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}


class _Handler(BaseHTTPRequestHandler):
    standin: GlobusAuthStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            params = {**params, **parse_qs(body, keep_blank_values=True)}
        self.params = {k: v[0] for k, v in params.items()}
        s = self.standin
        s.seen.append((method, parts.path, params))
        s.seen_at.append((time.monotonic(), parts.path))
        with s.lock:
            queued = s.queued_failures.get(parts.path)
            next_failure = queued.pop(0) if queued else None
        if next_failure is not None and next_failure[0]:
            status, retry_after = next_failure
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            body = _error_body(
                status, "TOO_MANY_REQUESTS" if status == 429 else "UNAVAILABLE", "Queued failure"
            )
            return self._json(status, body, headers)
        status = s.failures.get(parts.path) or s.failures.get("*")
        if status:
            return self._json(status, _error_body(status, "UNAVAILABLE", "The stand-in was told to fail."))
        routes: dict[tuple[str, str], Callable[[], None]] = {
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/jwk.json"): lambda: self._json(200, s.public_jwks()),
            ("GET", "/v2/oauth2/authorize"): self.authorize,
            ("GET", CALLBACK_PATH): self.upstream_callback,
            ("POST", "/v2/oauth2/token"): self.token,
            ("GET", "/v2/oauth2/userinfo"): self.userinfo,
            ("POST", "/v2/oauth2/userinfo"): self.userinfo,
            ("POST", "/v2/oauth2/token/introspect"): self.introspect,
            ("POST", "/v2/oauth2/token/revoke"): self.revoke,
            ("GET", "/v2/api/identities"): self.identities,
            ("GET", "/v2/api/identity_providers"): self.identity_providers,
        }
        route = routes.get((method, parts.path))
        if route is None:
            return self._json(404, _error_body(404, "NOT_FOUND", f"No such resource {parts.path}"))
        try:
            with s.lock:
                route()
        except StandInError as exc:
            body = {**_error_body(exc.status, exc.error.upper(), exc.description), "error": exc.error}
            body["error_description"] = exc.description
            self._json(exc.status, body)

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str, cookie: str | None = None) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        if cookie is not None:
            self.send_header("Set-Cookie", f"{SESSION_COOKIE}={cookie}; Path=/; HttpOnly")
        self.end_headers()

    def _client_from_basic(self) -> Client:
        header = self.headers.get("Authorization", "")
        client_id, secret = "", ""
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                client_id = ""
        else:
            client_id, secret = self.params.get("client_id", ""), self.params.get("client_secret", "")
        client = self.standin.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            raise StandInError(401, "invalid_client", "Client authentication failed")
        return client

    def _bearer_grant(self) -> Grant | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.standin.tokens.get(header[7:])

    def _session(self) -> Session | None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        morsel = cookie.get(SESSION_COOKIE)
        return self.standin.sessions.get(morsel.value) if morsel else None

    # --- OIDC ------------------------------------------------------------------------------------
    def discovery(self) -> None:
        url = self.standin.url
        self._json(
            200,
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/v2/oauth2/authorize",
                "token_endpoint": f"{url}/v2/oauth2/token",
                "userinfo_endpoint": f"{url}/v2/oauth2/userinfo",
                "revocation_endpoint": f"{url}/v2/oauth2/token/revoke",
                "jwks_uri": f"{url}/jwk.json",
                "response_types_supported": ["code", "token", "token id_token", "id_token"],
                "id_token_signing_alg_values_supported": [ALGORITHM],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "claims_supported": [
                    "at_hash",
                    "aud",
                    "email",
                    "exp",
                    "name",
                    "nonce",
                    "preferred_username",
                    "iat",
                    "iss",
                    "sub",
                    "identity_provider",
                    "identity_provider_display_name",
                    "organization",
                    "last_authentication",
                ],
                "subject_types_supported": ["public"],
                "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            },
        )

    def authorize(self) -> None:
        s, p = self.standin, self.params
        client = s.clients.get(p.get("client_id", ""))
        if client is None or p.get("redirect_uri") not in client.redirect_uris:
            raise StandInError(400, "invalid_request", "Unknown client or unregistered redirect_uri")
        if p.get("response_type") != "code":
            raise StandInError(400, "unsupported_response_type", "Only response_type=code")
        domains = [d for d in p.get("session_required_single_domain", "").split(",") if d]
        session = self._session()
        if p.get("prompt") == "login" or not self._satisfies(session, domains):
            return self._log_in(p, domains, session)
        self._issue_code(p, session)

    def _satisfies(self, session: Session | None, domains: list[str]) -> bool:
        if session is None or not session.authentications:
            return False
        if not domains:
            return True
        return any(
            self.standin.identities[i].username.rpartition("@")[2] in domains for i in session.authentications
        )

    def _log_in(self, p: dict[str, str], domains: list[str], session: Session | None) -> None:
        s = self.standin
        upstream = s.upstream
        if upstream is not None and (not domains or set(domains) & set(s.providers[upstream.idp_id].domains)):
            txn = secrets.token_urlsafe(16)
            s.pending[txn] = {**p, "upstream_nonce": secrets.token_urlsafe(16)}
            query = {
                "response_type": "code",
                "client_id": upstream.client_id,
                "redirect_uri": f"{s.url}{CALLBACK_PATH}",
                "scope": "openid profile email",
                "state": txn,
                "nonce": s.pending[txn]["upstream_nonce"],
                # Globus asks the IdP for a fresh login when the app asked Globus for one.
                **({"prompt": "login"} if p.get("prompt") == "login" else {}),
            }
            return self._redirect(f"{upstream.issuer}/authorize?{urlencode(query)}")
        if s.auto_login is not None:
            session = session or self._new_session()
            session.authentications[s.auto_login] = int(time.time())
            session.last = s.auto_login
            return self._issue_code(p, session, set_cookie=True)
        raise StandInError(400, "login_required", "No identity provider can satisfy this login")

    def _new_session(self) -> Session:
        session = Session(secrets.token_urlsafe(16))
        self.standin.sessions[session.id] = session
        return session

    def _issue_code(self, p: dict[str, str], session: Session | None, set_cookie: bool = False) -> None:
        assert session is not None
        code = secrets.token_urlsafe(24)
        self.standin.codes[code] = Grant(
            p["client_id"], p["redirect_uri"], p.get("scope", ""), p.get("nonce"), session
        )
        query = {"code": code, **({"state": p["state"]} if "state" in p else {})}
        self._redirect(f"{p['redirect_uri']}?{urlencode(query)}", cookie=session.id if set_cookie else None)

    def upstream_callback(self) -> None:
        s, upstream = self.standin, self.standin.upstream
        pending = s.pending.pop(self.params.get("state", ""), None)
        if upstream is None or pending is None:
            raise StandInError(400, "invalid_request", "Unknown login transaction")
        if "code" not in self.params:
            raise StandInError(400, "access_denied", self.params.get("error", "no code"))
        discovery = requests.get(f"{upstream.issuer}/.well-known/openid-configuration", timeout=10).json()
        tokens = requests.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": self.params["code"],
                "redirect_uri": f"{s.url}{CALLBACK_PATH}",
            },
            auth=(upstream.client_id, upstream.client_secret),
            timeout=10,
        )
        if tokens.status_code != 200:
            raise StandInError(
                502, "upstream_error", f"The identity provider refused the code: {tokens.text}"
            )
        id_token = tokens.json()["id_token"]
        signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token)
        claims = jwt.decode(
            id_token,
            signing_key.key,
            algorithms=discovery["id_token_signing_alg_values_supported"],
            audience=upstream.client_id,
            issuer=upstream.issuer,
        )
        if claims.get("nonce") != pending["upstream_nonce"]:
            raise StandInError(400, "invalid_request", "Upstream nonce mismatch")
        identity = self._identity_for_upstream(upstream, claims)
        session = self._session() or self._new_session()
        session.authentications[identity.id] = int(time.time())
        session.last = identity.id
        self._issue_code(pending, session, set_cookie=True)

    def _identity_for_upstream(self, upstream: Upstream, claims: dict[str, Any]) -> Identity:
        s = self.standin
        username = str(claims["preferred_username"]).lower()
        from_idp = [i for i in s.identities.values() if i.identity_provider == upstream.idp_id]
        identity = next((i for i in from_idp if i.upstream_sub == claims["sub"]), None)
        if identity is None:  # a provisioned identity is claimed by its username at first login
            identity = next(
                (
                    i
                    for i in from_idp
                    if i.username == username and i.upstream_sub is None and i.status == "unused"
                ),
                None,
            )
        if identity is None:
            identity = s.add_identity(username, upstream.idp_id)
        identity.upstream_sub = str(claims["sub"])
        identity.username, identity.status = username, "used"
        identity.name, identity.email = claims.get("name"), claims.get("email")
        identity.organization = claims.get("organization")
        return identity

    def token(self) -> None:
        s = self.standin
        client = self._client_from_basic()
        if self.params.get("grant_type") == "client_credentials":
            return self._client_credentials(client)
        if self.params.get("grant_type") != "authorization_code":
            raise StandInError(400, "unsupported_grant_type", "Only authorization_code here")
        grant = s.codes.pop(self.params.get("code", ""), None)
        if grant is None or grant.client_id != client.client_id:
            raise StandInError(400, "invalid_grant", "Invalid or already used authorization code")
        if grant.redirect_uri != self.params.get("redirect_uri"):
            raise StandInError(400, "invalid_grant", "redirect_uri does not match")
        access_token = secrets.token_urlsafe(32)
        s.tokens[access_token] = grant
        primary = s.identities[s.account_of(grant.session.last or "")[0]]
        body: dict[str, Any] = {
            "access_token": access_token,
            "scope": grant.scope,
            "expires_in": TOKEN_SECONDS,
            "token_type": "Bearer",
            "resource_server": "auth.globus.org",
            "state": self.params.get("state", "_default"),
            "other_tokens": [],
        }
        if "openid" in grant.scope.split():
            body["id_token"] = s.id_token_for(grant, primary)
        self._json(200, body)

    def _client_credentials(self, client: Client) -> None:
        """A token for the client itself (no user): what bulk tools call the APIs with."""
        access_token = secrets.token_urlsafe(32)
        scope = self.params.get("scope", "")
        self.standin.tokens[access_token] = Grant(client.client_id, "", scope, None, Session("client"))
        body = {
            "access_token": access_token,
            "scope": scope,
            "expires_in": TOKEN_SECONDS,
            "token_type": "Bearer",
            "resource_server": "auth.globus.org",
            "other_tokens": [],
        }
        self._json(200, body)

    def userinfo(self) -> None:
        grant = self._bearer_grant()
        if grant is None:
            raise StandInError(401, "unauthorized", "Call must be authenticated")
        primary = self.standin.identities[self.standin.account_of(grant.session.last or "")[0]]
        self._json(
            200,
            {
                "sub": primary.id,
                "preferred_username": primary.username,
                "name": primary.name,
                "email": primary.email,
                "identity_provider": primary.identity_provider,
                "organization": primary.organization,
            },
        )

    def introspect(self) -> None:
        s = self.standin
        client = self._client_from_basic()
        grant = s.tokens.get(self.params.get("token", ""))
        if grant is None or grant.client_id != client.client_id:
            return self._json(200, {"active": False})
        account = s.account_of(grant.session.last or "")
        primary = s.identities[account[0]]
        now = int(time.time())
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": grant.scope,
            "client_id": grant.client_id,
            "username": primary.username,
            "name": primary.name,
            "email": primary.email,
            "exp": now + TOKEN_SECONDS,
            "iat": now,
            "nbf": now,
            "sub": primary.id,
            "aud": ["auth.globus.org", grant.client_id],
            "iss": s.url,
        }
        include = set(self.params.get("include", "").split(","))
        if "identity_set" in include:
            body["identity_set"] = list(account)
        if "identity_set_detail" in include:
            body["identity_set_detail"] = [s.identities[i].api() for i in account]
        if "session_info" in include:
            body["session_info"] = {
                "session_id": grant.session.id,
                "authentications": {
                    identity_id: {
                        "acr": None,
                        "amr": None,
                        "auth_time": auth_time,
                        "idp": s.identities[identity_id].identity_provider,
                        "custom_claims": {},
                    }
                    for identity_id, auth_time in grant.session.authentications.items()
                },
            }
        self._json(200, body)

    def revoke(self) -> None:
        self._client_from_basic()
        self.standin.tokens.pop(self.params.get("token", ""), None)
        self._json(200, {"active": False})

    # --- APIs ------------------------------------------------------------------------------------
    def _api_caller(self) -> None:
        if self._bearer_grant() is None:
            try:
                self._client_from_basic()
            except StandInError:
                raise StandInError(401, "unauthorized", "Call must be authenticated") from None
            self.standin.api_auth.append("basic")
        else:
            self.standin.api_auth.append("bearer")

    def identities(self) -> None:
        self._api_caller()
        s, p = self.standin, self.params
        usernames = [u.lower() for u in p.get("usernames", "").split(",") if u]
        ids = [i for i in p.get("ids", "").split(",") if i]
        if bool(usernames) == bool(ids):
            raise StandInError(400, "invalid_parameters", "Exactly one of usernames or ids is required")
        if max(len(usernames), len(ids)) > MAX_IDENTITIES_PER_CALL:
            raise StandInError(400, "invalid_parameters", f"At most {MAX_IDENTITIES_PER_CALL} per call")
        found: list[Identity] = []
        for username in usernames:
            holder = s.current_holder(username)
            if holder is None and p.get("provision") == "true":
                domain = username.rpartition("@")[2]
                provider = next((pr for pr in s.providers.values() if domain in pr.domains), None)
                if provider is not None:
                    holder = s.add_identity(username, provider.id, status="unused")
            if holder is not None:
                found.append(holder)
        for identity_id in ids:
            try:
                uuid.UUID(identity_id)
            except ValueError:
                raise StandInError(400, "invalid_parameters", f"{identity_id} is not a valid UUID") from None
            if identity_id in s.identities:
                found.append(s.identities[identity_id])
        self._json(200, {"identities": [i.api() for i in found]})

    def identity_providers(self) -> None:
        self._api_caller()
        s, p = self.standin, self.params
        domains = [d.lower() for d in p.get("domains", "").split(",") if d]
        ids = [i for i in p.get("ids", "").split(",") if i]
        if bool(domains) == bool(ids):
            raise StandInError(400, "invalid_parameters", "Exactly one of domains or ids is required")
        found = [pr for pr in s.providers.values() if (set(domains) & set(pr.domains)) or pr.id in ids]
        self._json(200, {"identity_providers": [pr.api() for pr in found]})


def _error_body(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "errors": [
            {"status": str(status), "id": str(uuid.uuid4()), "code": code, "detail": detail, "title": code}
        ],
        "error": code.lower(),
        "error_description": detail,
    }
