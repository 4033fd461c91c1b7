"""End-to-end support: a browser with a cookie jar, and a relying party built on Authlib.

Everything here talks to the live bridge over real HTTP. The browser never follows a redirect that
leaves the bridge: a redirect to a relying party's redirect URI is where a real browser would hand
the code to the RP, so it is returned as a ``Callback`` and the test plays the RP from there.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import authlib.deprecate  # noqa: F401  (its import installs an "always" filter; import it first)
import requests
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib.jose announces its own future deprecation in favour of joserfc at import time; the
    # brief asks for authlib.jose, and every call we make through it is warning-free.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, jwt

from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import Client

PASSWORD = "correct horse battery staple"
HTTP_TIMEOUT = 10
# Claims an ID token carries about the token itself or the authentication event, not the user.
PROTOCOL_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "jti", "azp"}
)


# --- HTML ---------------------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)

    def fields(self) -> dict[str, str]:
        """What a browser submits for the hidden and text fields (not the buttons)."""
        return {i["name"]: i.get("value", "") for i in self.inputs if "name" in i}

    def input(self, name: str) -> dict[str, str]:
        for attrs in self.inputs:
            if attrs.get("name") == name:
                return attrs
        raise AssertionError(f"the form has no input named {name!r}: {self.inputs}")


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self.text_parts: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            self.forms[-1].inputs.append(values)
        elif tag == "button" and self.forms:
            self.forms[-1].buttons.append(values)
        elif tag == "label":
            self._label_for = values.get("for", "")
            self._label_text = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = "".join(self._label_text).strip()
            self._label_for = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._label_text.append(data)
        if self._in_title:
            self.title += data
        self.text_parts.append(data)


@dataclass
class Page:
    """An HTML page the bridge showed the user."""

    response: requests.Response
    forms: list[Form]
    labels: dict[str, str]
    text: str
    title: str

    @classmethod
    def parse(cls, response: requests.Response) -> Page:
        parser = _PageParser()
        parser.feed(response.text)
        text = " ".join(" ".join(parser.text_parts).split())
        return cls(response, parser.forms, parser.labels, text, " ".join(parser.title.split()))

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def url(self) -> str:
        return self.response.url

    def form(self, action_endswith: str) -> Form:
        for form in self.forms:
            if urlsplit(form.action).path.endswith(action_endswith):
                return form
        raise AssertionError(f"no form posting to *{action_endswith} on {self.url}: {self.text[:500]}")

    @property
    def kind(self) -> str:
        actions = [urlsplit(f.action).path for f in self.forms]
        if any(a.endswith("/login") for a in actions) and any(
            i.get("name") == "password" for f in self.forms for i in f.inputs
        ):
            return "login"
        if any(a.endswith("/authorize") for a in actions):
            return "consent"
        if "This sign-in request cannot be completed" in self.text:
            return "error"
        return "other"

    def __repr__(self) -> str:
        return f"<Page {self.kind} {self.status} {self.url} {self.text[:300]!r}>"


@dataclass
class Callback:
    """The bridge redirected the browser to a relying party: the RP's view of the response."""

    location: str
    params: dict[str, str]
    pairs: list[tuple[str, str]]
    in_fragment: bool

    @classmethod
    def parse(cls, location: str) -> Callback:
        parts = urlsplit(location)
        in_fragment = bool(parts.fragment) and not parts.query
        pairs = parse_qsl(parts.fragment if in_fragment else parts.query, keep_blank_values=True)
        return cls(location, dict(pairs), pairs, in_fragment)

    @property
    def base(self) -> str:
        parts = urlsplit(self.location)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    @property
    def code(self) -> str | None:
        return self.params.get("code")

    @property
    def error(self) -> str | None:
        return self.params.get("error")

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def iss(self) -> str | None:
        return self.params.get("iss")


# --- the browser --------------------------------------------------------------------------------
class Browser:
    """A user's browser: one cookie jar, follows redirects only while they stay at the bridge."""

    def __init__(self, bridge_url: str) -> None:
        self.bridge_url = bridge_url
        self.http = requests.Session()
        self.shown: list[str] = []  # kinds of pages the user saw, in order

    def url(self, path: str) -> str:
        return urljoin(self.bridge_url + "/", path.lstrip("/"))

    def at_bridge(self, url: str) -> bool:
        return urlsplit(url).netloc == urlsplit(self.bridge_url).netloc

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        response = self.http.request(method, url, allow_redirects=False, **kwargs)
        # A fresh connection for every request (the cookie jar stays): on a kept-alive connection the
        # development server's small writes meet Nagle and delayed ACKs, 40 ms per request.
        self.http.close()
        return response

    def follow(self, response: requests.Response, *, max_hops: int = 10) -> Page | Callback:
        for _ in range(max_hops):
            if response.status_code not in (301, 302, 303, 307, 308):
                page = Page.parse(response)
                self.shown.append(page.kind)
                return page
            location = urljoin(response.url, response.headers["Location"])
            if not self.at_bridge(location):
                return Callback.parse(location)
            response = self.request("GET", location)
        raise AssertionError("too many redirects inside the bridge")

    def open(self, url: str, params: dict[str, str] | list[tuple[str, str]] | None = None) -> Page | Callback:
        return self.follow(self.request("GET", url if "://" in url else self.url(url), params=params))

    def submit(self, page: Page, form: Form, data: dict[str, str]) -> Page | Callback:
        target = urljoin(page.url, form.action or page.url)
        assert form.method == "post", f"{form.action} is not a POST form"
        return self.follow(self.request("POST", target, data=data))

    # --- user stories ---
    def login_page(self, next_url: str | None = None) -> Page:
        page = self.open("/login", {"next": next_url} if next_url else None)
        assert isinstance(page, Page) and page.kind == "login", page
        return page

    def submit_login(self, page: Page, username: str, password: str) -> Page | Callback:
        assert page.kind == "login", page
        form = page.form("/login")
        data = form.fields() | {"login": username, "password": password}
        return self.submit(page, form, data)

    def login(self, username: str, password: str = PASSWORD) -> Page | Callback:
        """Sign in at the bridge's own login page, outside any relying party's request."""
        return self.submit_login(self.login_page(), username, password)

    def consent(self, page: Page, *, allow: bool = True) -> Page | Callback:
        assert page.kind == "consent", page
        form = page.form("/authorize")
        data = form.fields()
        if allow:
            allow_button = next(b for b in form.buttons if b.get("name") == "allow")
            data[allow_button["name"]] = allow_button.get("value", "")
        return self.submit(page, form, data)

    def authorize(self, url: str, *, user: tuple[str, str] | None = None, consent: bool = True) -> Callback:
        """Open an authorization URL and do what the user would: sign in if asked, allow if asked."""
        step = self.open(url)
        if isinstance(step, Page) and step.kind == "login":
            assert user is not None, f"the bridge asked for a login nobody expected: {step!r}"
            step = self.submit_login(step, *user)
        if isinstance(step, Page) and step.kind == "consent" and consent:
            step = self.consent(step)
        assert isinstance(step, Callback), f"expected a redirect to the relying party, got {step!r}"
        return step

    def csrf_token(self, page: Page) -> str:
        for form in page.forms:
            for attrs in form.inputs:
                if attrs.get("name") == "csrfmiddlewaretoken":
                    return attrs["value"]
        raise AssertionError(f"no CSRF token on {page!r}")


# --- the relying party --------------------------------------------------------------------------
@dataclass
class AuthRequest:
    url: str
    state: str
    nonce: str | None
    code_verifier: str | None
    params: dict[str, str]


@dataclass
class Tokens:
    raw: dict[str, Any]
    id_claims: dict[str, Any] | None

    @property
    def access_token(self) -> str:
        return self.raw["access_token"]

    @property
    def refresh_token(self) -> str | None:
        return self.raw.get("refresh_token")

    @property
    def id_token(self) -> str | None:
        return self.raw.get("id_token")

    def user_claims(self) -> dict[str, Any]:
        assert self.id_claims is not None
        return {k: v for k, v in self.id_claims.items() if k not in PROTOCOL_CLAIMS}


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6 for RS256: base64url of the left half of SHA-256 of the token's ASCII octets."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


class RP:
    """A relying party registered at the bridge, speaking through Authlib."""

    def __init__(self, client: Client, bridge: Bridge, auth_method: str = "client_secret_basic") -> None:
        self.client = client
        self.bridge = bridge
        self.auth_method = "none" if client.client_secret is None else auth_method

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def session(self, **kwargs: Any) -> OAuth2Session:
        oauth = OAuth2Session(
            client_id=self.client.client_id,
            client_secret=self.client.client_secret,
            redirect_uri=self.client.redirect_uri,
            token_endpoint_auth_method=self.auth_method,
            revocation_endpoint_auth_method=self.auth_method,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT,
            **kwargs,
        )
        return oauth

    def auth_request(
        self,
        scope: str = "openid",
        *,
        pkce: bool = True,
        nonce: bool = True,
        state: str | None = None,
        **extra: str,
    ) -> AuthRequest:
        code_verifier = secrets.token_urlsafe(48) if pkce else None
        nonce_value = secrets.token_urlsafe(16) if nonce else None
        params: dict[str, str] = {k: v for k, v in extra.items() if v is not None}
        if nonce_value:
            params["nonce"] = nonce_value
        oauth = self.session(scope=scope)
        url, state_value = oauth.create_authorization_url(
            self.bridge.metadata["authorization_endpoint"], state=state, code_verifier=code_verifier, **params
        )
        sent = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        return AuthRequest(url, state_value, nonce_value, code_verifier, sent)

    def check_callback(self, callback: Callback, request: AuthRequest) -> str:
        """What an RP checks before redeeming a code (RFC 6749 4.1.2, RFC 9207)."""
        assert callback.base == self.client.redirect_uri, callback.location
        assert callback.error is None, callback.params
        assert callback.state == request.state
        assert callback.iss == self.bridge.issuer
        assert callback.code
        return callback.code

    def exchange(self, callback: Callback, request: AuthRequest) -> Tokens:
        code = self.check_callback(callback, request)
        oauth = self.session()
        extra = {"code_verifier": request.code_verifier} if request.code_verifier else {}
        raw = dict(oauth.fetch_token(self.bridge.metadata["token_endpoint"], code=code, **extra))
        id_claims = (
            self.validate_id_token(raw["id_token"], nonce=request.nonce, access_token=raw["access_token"])
            if "id_token" in raw
            else None
        )
        return Tokens(raw, id_claims)

    def validate_id_token(
        self, id_token: str, *, nonce: str | None, access_token: str | None
    ) -> dict[str, Any]:
        """Everything OIDC Core 3.1.3.7 asks an RP to check, against the JWKS from jwks_uri."""
        key_set = JsonWebKey.import_key_set(self.bridge.jwks())
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.bridge.issuer},
            "aud": {"essential": True, "value": self.client.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        claims = jwt.decode(id_token, key_set, claims_options=options)
        claims.validate(leeway=5)
        assert claims.header["alg"] == "RS256"
        aud = claims["aud"]
        assert aud == self.client.client_id or aud == [self.client.client_id], aud
        if isinstance(aud, list) and len(aud) > 1:
            assert claims.get("azp") == self.client.client_id
        assert claims["exp"] > time.time()
        if access_token is not None:
            assert claims.get("at_hash") == at_hash(access_token), "at_hash does not match the access token"
        return dict(claims)

    # --- the token endpoint and its friends ---
    def refresh(self, refresh_token: str, **extra: str) -> dict[str, Any]:
        return dict(
            self.session().refresh_token(
                self.bridge.metadata["token_endpoint"], refresh_token=refresh_token, **extra
            )
        )

    def post_token(
        self, data: dict[str, str] | list[tuple[str, str]], *, client_auth: str | bool = True, **kwargs: Any
    ) -> requests.Response:
        """A raw token request, for answers Authlib would turn into exceptions.

        ``client_auth``: True for the registered method, False for none, or a method name to use.
        """
        return self._post(self.bridge.metadata["token_endpoint"], data, client_auth=client_auth, **kwargs)

    def introspect(self, token: str, *, client_auth: str | bool = True, **extra: str) -> requests.Response:
        url = self.bridge.metadata["introspection_endpoint"]
        return self._post(url, {"token": token, **extra}, client_auth=client_auth)

    def revoke(self, token: str, *, client_auth: str | bool = True, **extra: str) -> requests.Response:
        url = self.bridge.metadata["revocation_endpoint"]
        return self._post(url, {"token": token, **extra}, client_auth=client_auth)

    def _post(
        self, url: str, data: Any, *, client_auth: str | bool = True, **kwargs: Any
    ) -> requests.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        method = self.auth_method if client_auth is True else client_auth
        secret = self.client.client_secret or ""
        if method == "client_secret_basic":
            kwargs.setdefault("auth", (self.client.client_id, secret))
        elif method == "client_secret_post":
            pairs += [("client_id", self.client.client_id), ("client_secret", secret)]
        elif method == "none":
            pairs += [("client_id", self.client.client_id)]
        return requests.post(url, data=pairs, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)

    def userinfo(self, access_token: str, *, method: str = "GET") -> requests.Response:
        url = self.bridge.metadata["userinfo_endpoint"]
        if method == "POST-BODY":
            return requests.post(url, data={"access_token": access_token}, timeout=HTTP_TIMEOUT)
        return requests.request(
            method, url, headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT
        )

    # --- whole stories ---
    def sign_in(
        self, browser: Browser, user: tuple[str, str] | None, scope: str = "openid", **extra: Any
    ) -> Tokens:
        """The whole authorization code flow as the user and this RP see it; returns validated tokens."""
        request = self.auth_request(scope, **extra)
        callback = browser.authorize(request.url, user=user)
        return self.exchange(callback, request)


@dataclass
class Bridge:
    url: str
    metadata: dict[str, Any]

    @property
    def issuer(self) -> str:
        return self.metadata["issuer"]

    def jwks(self) -> dict[str, Any]:
        response = requests.get(self.metadata["jwks_uri"], timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def endpoint(self, name: str) -> str:
        return self.metadata[name]


@dataclass(frozen=True)
class User:
    login: str
    password: str
    uid: int

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.login, self.password)


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    pairs += [(k, v) for k, v in params.items() if v is not None]
    return parts._replace(query=urlencode(pairs)).geturl()


def wait_for_next_second() -> None:
    """auth_time has one-second resolution: make sure the next sign-in lands in a later second."""
    time.sleep(1.05 - (time.time() % 1.0))


__all__ = [
    "PASSWORD",
    "PROTOCOL_CLAIMS",
    "RP",
    "AuthRequest",
    "Bridge",
    "Browser",
    "Callback",
    "Page",
    "Tokens",
    "User",
    "at_hash",
    "query",
    "wait_for_next_second",
    "with_params",
]
