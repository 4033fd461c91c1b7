"""Bad input never gives a 500: a table of malformed requests per endpoint, each with the answer the
spec names for it (RFC 6749 4.1.2.1 and 5.2, RFC 6750 3.1, RFC 7009 2.2.1, RFC 7662 2.3).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.e2e.support import HTTP_TIMEOUT, RP, Browser, Callback, Tokens, User, query

pytestmark = pytest.mark.e2e

HUGE = "A" * 100_000
FORGED_JWT = (
    base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"forged","typ":"JWT"}').rstrip(b"=").decode()
    + "."
    + base64.urlsafe_b64encode(b'{"iss":"x","sub":"x","aud":"test-rp","exp":9999999999}')
    .rstrip(b"=")
    .decode()
    + ".c2lnbmF0dXJl"
)
UNSIGNED_JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."


@dataclass(frozen=True)
class Expect:
    status: Iterable[int]
    errors: frozenset[str] = frozenset()  # the spec's error code(s); empty: none named
    www_authenticate: str | None = None  # the scheme a 401 must challenge with
    redirect_errors: frozenset[str] = frozenset()  # authorize: error codes acceptable at the redirect URI
    login_ok: bool = False  # authorize: a valid request may send a browser without a session to log in


def page(*statuses: int) -> Expect:
    return Expect(statuses or range(400, 500))


def json_error(status: int | Iterable[int], *errors: str, www: str | None = None) -> Expect:
    return Expect([status] if isinstance(status, int) else status, frozenset(errors), www)


def at_redirect(*errors: str, or_page: bool = False) -> Expect:
    return Expect([302] + (list(range(400, 500)) if or_page else []), redirect_errors=frozenset(errors))


ANY_4XX = Expect(range(400, 500))


@dataclass
class Case:
    name: str
    method: str
    url: str
    expect: Expect
    kwargs: dict[str, Any] = field(default_factory=dict)


def basic(raw: bytes) -> bytes:
    return b"Basic " + base64.b64encode(raw)


def send(case: Case) -> requests.Response:
    return requests.request(case.method, case.url, timeout=HTTP_TIMEOUT, allow_redirects=False, **case.kwargs)


def problems(case: Case, response: requests.Response, redirect_uri: str) -> list[str]:
    found: list[str] = []
    status = response.status_code
    if status >= 500:
        return [f"{status} server error"]
    if status not in set(case.expect.status):
        found.append(f"status {status}, expected one of {sorted(set(case.expect.status))[:6]}")
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if case.expect.login_ok and urlsplit(location).path == "/login":
            return found
        if not location.startswith(redirect_uri + "?") and not location.startswith(redirect_uri + "#"):
            found.append(f"redirected somewhere unexpected: {location[:200]}")
        elif case.expect.redirect_errors:
            parts = urlsplit(location)
            error = query("?" + (parts.query or parts.fragment)).get("error")
            if error not in case.expect.redirect_errors:
                found.append(
                    f"error={error} at the redirect URI, expected {sorted(case.expect.redirect_errors)}"
                )
            if "code" in query("?" + (parts.query or parts.fragment)):
                found.append("a code was issued")
        return found
    if case.expect.errors and status != 413:  # a 413 may come from a proxy; it has no OAuth body
        try:
            body = response.json()
        except ValueError:
            body = {}
        if body.get("error") not in case.expect.errors:
            found.append(
                f"error={body.get('error')!r}, expected {sorted(case.expect.errors)}: {response.text[:200]}"
            )
    if case.expect.www_authenticate:
        challenge = response.headers.get("WWW-Authenticate", "")
        if case.expect.www_authenticate == "*":
            if not challenge:
                found.append("a 401 without WWW-Authenticate")
        elif not challenge.lower().startswith(case.expect.www_authenticate.lower()):
            found.append(
                f"WWW-Authenticate {challenge!r}, expected a {case.expect.www_authenticate} challenge"
            )
        names_error = any(f'error="{e}"' in challenge for e in case.expect.errors)
        if (
            case.expect.errors
            and case.expect.www_authenticate == "Bearer"
            and status == 401
            and not names_error
        ):
            found.append(f"WWW-Authenticate {challenge!r} does not name the error")
    return found


def run(subtests: Any, cases: list[Case], redirect_uri: str) -> None:
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in cases:
        with subtests.test(msg=case.name):
            response = send(case)
            assert not problems(case, response, redirect_uri), (
                case.name,
                problems(case, response, redirect_uri),
            )


@pytest.fixture
def signed_in(browser: Browser, relying_party: RP, alice: User) -> Tokens:
    return relying_party.sign_in(browser, alice.credentials, "openid profile")


# --- the authorization endpoint -----------------------------------------------------------------
def test_authorization_endpoint_survives_malformed_requests(
    relying_party: RP, signed_in: Tokens, subtests: Any
) -> None:
    url = relying_party.bridge.metadata["authorization_endpoint"]
    rp = relying_party.client
    good = [
        ("response_type", "code"),
        ("client_id", rp.client_id),
        ("redirect_uri", rp.redirect_uri),
        ("scope", "openid"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ]

    def with_(*extra: tuple[str, str], drop: tuple[str, ...] = ()) -> str:
        return url + "?" + urlencode([p for p in good if p[0] not in drop] + list(extra))

    assert signed_in.id_token
    cases = [
        Case("repeated client_id", "GET", with_(("client_id", "other")), page()),
        Case("repeated redirect_uri", "GET", with_(("redirect_uri", "https://evil.example/")), page()),
        Case(
            "repeated response_type",
            "GET",
            with_(("response_type", "code")),
            at_redirect("invalid_request", or_page=True),
        ),
        Case(
            "repeated scope", "GET", with_(("scope", "openid")), at_redirect("invalid_request", or_page=True)
        ),
        Case("repeated state", "GET", with_(("state", "t")), at_redirect("invalid_request", or_page=True)),
        Case("repeated nonce", "GET", with_(("nonce", "m")), at_redirect("invalid_request")),
        Case(
            "repeated code_challenge",
            "GET",
            with_(("code_challenge", "x" * 43)),
            at_redirect("invalid_request"),
        ),
        Case(
            "missing response_type",
            "GET",
            with_(drop=("response_type",)),
            at_redirect("invalid_request", or_page=True),
        ),
        Case("empty client_id", "GET", with_(("client_id", ""), drop=("client_id",)), page()),
        Case("100 KB state", "GET", with_(("state", HUGE), drop=("state",)), ANY_4XX),
        Case("100 KB scope", "GET", with_(("scope", "openid " + HUGE), drop=("scope",)), ANY_4XX),
        Case(
            "invalid UTF-8 in client_id",
            "GET",
            url + "?" + urlencode(good[:1]) + "&client_id=%ff%fe&" + urlencode(good[2:]),
            page(),
        ),
        Case(
            "invalid UTF-8 in redirect_uri",
            "GET",
            url
            + "?"
            + urlencode(good[:2])
            + "&redirect_uri=https%3A%2F%2Frp.example.org%2F%ff&"
            + urlencode(good[3:]),
            page(),
        ),
        Case(
            "invalid UTF-8 in state",
            "GET",
            url + "?" + urlencode(good).replace("state=s", "state=%ff%c3%28"),
            Expect([302, *range(400, 500)], login_ok=True),
        ),
        Case(
            "NUL in state",
            "GET",
            url + "?" + urlencode(good).replace("state=s", "state=a%00b"),
            Expect([302, *range(400, 500)], login_ok=True),
        ),
        Case("claims is not JSON", "GET", with_(("claims", "{nope")), at_redirect("invalid_request")),
        Case("claims is a JSON array", "GET", with_(("claims", '["email"]')), at_redirect("invalid_request")),
        Case(
            "claims member is a string",
            "GET",
            with_(("claims", '{"userinfo": "email"}')),
            at_redirect("invalid_request"),
        ),
        Case(
            "forged id_token_hint",
            "GET",
            with_(("id_token_hint", FORGED_JWT)),
            at_redirect("invalid_request"),
        ),
        Case(
            "unsigned id_token_hint",
            "GET",
            with_(("id_token_hint", UNSIGNED_JWT)),
            at_redirect("invalid_request"),
        ),
        Case(
            "truncated id_token_hint",
            "GET",
            with_(("id_token_hint", signed_in.id_token[:-20])),
            at_redirect("invalid_request"),
        ),
        Case(
            "100 KB id_token_hint",
            "GET",
            with_(("id_token_hint", HUGE[:60_000])),
            Expect([302, *range(400, 500)], redirect_errors=frozenset({"invalid_request"})),
        ),
        Case("max_age not a number", "GET", with_(("max_age", "ten")), at_redirect("invalid_request")),
        Case(
            "code_challenge_method plain",
            "GET",
            with_(("code_challenge_method", "plain"), drop=("code_challenge_method",)),
            at_redirect("invalid_request"),
        ),
        Case(
            "unknown response_mode",
            "GET",
            with_(("response_mode", "form_post")),
            at_redirect("invalid_request"),
        ),
        Case(
            "request_uri",
            "GET",
            with_(("request_uri", "https://evil.example/req")),
            at_redirect("request_uri_not_supported"),
        ),
        Case("POST without CSRF", "POST", url, page(403), {"data": dict(good)}),
        Case("POST with a JSON body", "POST", url, page(403), {"json": dict(good)}),
        Case("PUT", "PUT", with_(), page(403, 405)),
        Case("DELETE", "DELETE", with_(), page(403, 405)),
    ]
    run(subtests, cases, rp.redirect_uri)


# --- the token endpoint -------------------------------------------------------------------------
def test_token_endpoint_survives_malformed_requests(
    relying_party: RP, signed_in: Tokens, subtests: Any
) -> None:
    url = relying_party.bridge.metadata["token_endpoint"]
    rp = relying_party.client
    assert rp.client_secret and signed_in.refresh_token
    creds = (rp.client_id, rp.client_secret)
    code_form = {
        "grant_type": "authorization_code",
        "code": "bogus-code",
        "redirect_uri": rp.redirect_uri,
        "code_verifier": "v" * 43,
    }
    # RFC 6749 5.2: 401 with a WWW-Authenticate challenge. (That its scheme must match the one the
    # client used is pinned once, in test_token_endpoint.py, not in every row here.)
    invalid_client = json_error(401, "invalid_client", www="*")
    cases = [
        Case("GET", "GET", url, page(405)),
        Case(
            "empty body",
            "POST",
            url,
            json_error(400, "invalid_request", "unsupported_grant_type"),
            {"auth": creds},
        ),
        Case(
            "JSON body",
            "POST",
            url,
            json_error(400, "invalid_request", "unsupported_grant_type"),
            {"auth": creds, "json": code_form},
        ),
        Case(
            "text/plain body",
            "POST",
            url,
            json_error(400, "invalid_request", "unsupported_grant_type"),
            {"auth": creds, "data": urlencode(code_form), "headers": {"Content-Type": "text/plain"}},
        ),
        Case(
            "repeated grant_type",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"auth": creds, "data": [*code_form.items(), ("grant_type", "refresh_token")]},
        ),
        Case(
            "repeated code",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"auth": creds, "data": [*code_form.items(), ("code", "another")]},
        ),
        Case(
            "repeated refresh_token",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {
                "auth": creds,
                "data": [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("refresh_token", signed_in.refresh_token),
                ],
            },
        ),
        Case(
            "100 KB code",
            "POST",
            url,
            json_error([400, 413], "invalid_request", "invalid_grant"),
            {"auth": creds, "data": code_form | {"code": HUGE}},
        ),
        Case(
            "invalid UTF-8 in code",
            "POST",
            url,
            json_error(400, "invalid_grant"),
            {
                "auth": creds,
                "data": urlencode(code_form).replace("bogus-code", "%ff%fe"),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        Case(
            "Basic not base64",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": "Basic !!!not-base64!!!"}},
        ),
        Case(
            "Basic without colon",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": basic(b"test-rp")}},
        ),
        Case(
            "Basic with unicode",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": basic("tëst-rp:sëcret☃".encode())}},
        ),
        Case(
            "Basic with invalid UTF-8",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": basic(b"\xff\xfe:\xff")}},
        ),
        Case(
            "Basic raw non-ASCII header",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": b"Basic \xe2\x98\x83"}},
        ),
        Case(
            "Basic empty",
            "POST",
            url,
            invalid_client,
            {"data": code_form, "headers": {"Authorization": "Basic "}},
        ),
        Case(
            "Basic with a huge value",
            "POST",
            url,
            Expect(range(400, 500), frozenset({"invalid_client"})),
            {"data": code_form, "headers": {"Authorization": basic(HUGE[:30_000].encode())}},
        ),
        Case(
            "Bearer instead of client auth",
            "POST",
            url,
            json_error(401, "invalid_client"),
            {"data": code_form, "headers": {"Authorization": f"Bearer {signed_in.access_token}"}},
        ),
        Case("no client authentication", "POST", url, json_error(401, "invalid_client"), {"data": code_form}),
        Case(
            "client_id in body only, confidential client",
            "POST",
            url,
            json_error(401, "invalid_client"),
            {"data": code_form | {"client_id": rp.client_id}},
        ),
        Case(
            "Basic and secret in body",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {
                "auth": creds,
                "data": code_form | {"client_id": rp.client_id, "client_secret": rp.client_secret},
            },
        ),
        Case(
            "unknown grant_type",
            "POST",
            url,
            json_error(400, "unsupported_grant_type"),
            {"auth": creds, "data": {"grant_type": "magic"}},
        ),
        Case(
            "forged JWT as refresh token",
            "POST",
            url,
            json_error(400, "invalid_grant"),
            {"auth": creds, "data": {"grant_type": "refresh_token", "refresh_token": FORGED_JWT}},
        ),
        Case(
            "ID token as refresh token",
            "POST",
            url,
            json_error(400, "invalid_grant"),
            {"auth": creds, "data": {"grant_type": "refresh_token", "refresh_token": signed_in.id_token}},
        ),
        Case(
            "access token as code",
            "POST",
            url,
            json_error(400, "invalid_grant"),
            {"auth": creds, "data": code_form | {"code": signed_in.access_token}},
        ),
        Case(
            "missing code",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"auth": creds, "data": {k: v for k, v in code_form.items() if k != "code"}},
        ),
        Case(
            "code_verifier too short",
            "POST",
            url,
            json_error(400, "invalid_request", "invalid_grant"),
            {"auth": creds, "data": code_form | {"code_verifier": "short"}},
        ),
    ]
    run(subtests, cases, rp.redirect_uri)


# --- userinfo -----------------------------------------------------------------------------------
def test_userinfo_survives_malformed_requests(relying_party: RP, signed_in: Tokens, subtests: Any) -> None:
    url = relying_party.bridge.metadata["userinfo_endpoint"]
    token = signed_in.access_token
    invalid_token = json_error(401, "invalid_token", www="Bearer")
    cases = [
        Case("no token", "GET", url, Expect([401], www_authenticate="Bearer")),
        Case(
            "forged JWT as bearer",
            "GET",
            url,
            invalid_token,
            {"headers": {"Authorization": f"Bearer {FORGED_JWT}"}},
        ),
        Case(
            "ID token as bearer",
            "GET",
            url,
            invalid_token,
            {"headers": {"Authorization": f"Bearer {signed_in.id_token}"}},
        ),
        Case(
            "truncated access token",
            "GET",
            url,
            invalid_token,
            {"headers": {"Authorization": f"Bearer {token[:-4]}"}},
        ),
        Case(
            "refresh token as bearer",
            "GET",
            url,
            invalid_token,
            {"headers": {"Authorization": f"Bearer {signed_in.refresh_token}"}},
        ),
        Case(
            "empty bearer",
            "GET",
            url,
            Expect([400, 401], www_authenticate="Bearer"),
            {"headers": {"Authorization": "Bearer "}},
        ),
        Case(
            "Basic instead of Bearer",
            "GET",
            url,
            Expect([400, 401], www_authenticate="Bearer"),
            {"headers": {"Authorization": basic(b"a:b")}},
        ),
        Case(
            "non-ASCII bearer", "GET", url, invalid_token, {"headers": {"Authorization": "Bearer ☃".encode()}}
        ),
        Case(
            "100 KB bearer",
            "GET",
            url,
            Expect(range(400, 500)),
            {"headers": {"Authorization": "Bearer " + HUGE[:60_000]}},
        ),
        Case(
            "token in the query string",
            "GET",
            url + "?" + urlencode({"access_token": token}),
            json_error(400, "invalid_request"),
        ),
        Case(
            "header and body both",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"headers": {"Authorization": f"Bearer {token}"}, "data": {"access_token": token}},
        ),
        Case(
            "JSON body",
            "POST",
            url,
            Expect([400, 401], www_authenticate="Bearer"),
            {"json": {"access_token": token}},
        ),
        Case(
            "form token with the wrong content type",
            "POST",
            url,
            Expect([400, 401], www_authenticate="Bearer"),
            {"data": urlencode({"access_token": token}), "headers": {"Content-Type": "text/plain"}},
        ),
        Case(
            "repeated access_token in body",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"data": [("access_token", token), ("access_token", "other")]},
        ),
        Case(
            "invalid UTF-8 token in body",
            "POST",
            url,
            invalid_token,
            {"data": "access_token=%ff%fe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        ),
        Case("PUT", "PUT", url, page(405), {"headers": {"Authorization": f"Bearer {token}"}}),
        Case("DELETE", "DELETE", url, page(405), {"headers": {"Authorization": f"Bearer {token}"}}),
    ]
    run(subtests, cases, relying_party.client.redirect_uri)
    assert relying_party.userinfo(token).status_code == 200, "none of that may have broken the real token"


# --- introspection and revocation ---------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["introspection_endpoint", "revocation_endpoint"])
def test_introspection_and_revocation_survive_malformed_requests(
    relying_party: RP, signed_in: Tokens, subtests: Any, endpoint: str
) -> None:
    url = relying_party.bridge.metadata[endpoint]
    rp = relying_party.client
    assert rp.client_secret
    creds = (rp.client_id, rp.client_secret)
    invalid_client = json_error(401, "invalid_client")
    ok = 200
    cases = [
        Case("GET", "GET", url + "?token=x", page(405)),
        Case(
            "no client authentication",
            "POST",
            url,
            invalid_client,
            {"data": {"token": signed_in.access_token}},
        ),
        Case(
            "Basic not base64",
            "POST",
            url,
            invalid_client,
            {"data": {"token": "x"}, "headers": {"Authorization": "Basic %%%"}},
        ),
        Case(
            "Basic without colon",
            "POST",
            url,
            invalid_client,
            {"data": {"token": "x"}, "headers": {"Authorization": basic(b"test-rp")}},
        ),
        Case(
            "Basic with unicode",
            "POST",
            url,
            invalid_client,
            {"data": {"token": "x"}, "headers": {"Authorization": basic("ü:☃".encode())}},
        ),
        Case(
            "Basic raw non-ASCII header",
            "POST",
            url,
            invalid_client,
            {"data": {"token": "x"}, "headers": {"Authorization": b"Basic \xe2\x98\x83"}},
        ),
        Case(
            "Basic with invalid UTF-8",
            "POST",
            url,
            invalid_client,
            {"data": {"token": "x"}, "headers": {"Authorization": basic(b"\xff:\xfe")}},
        ),
        Case(
            "Bearer instead of client auth",
            "POST",
            url,
            invalid_client,
            {
                "data": {"token": signed_in.access_token},
                "headers": {"Authorization": f"Bearer {signed_in.access_token}"},
            },
        ),
        Case("missing token", "POST", url, json_error(400, "invalid_request"), {"auth": creds}),
        Case(
            "JSON body",
            "POST",
            url,
            json_error(400, "invalid_request"),
            {"auth": creds, "json": {"token": "x"}},
        ),
        Case("100 KB token", "POST", url, Expect([ok, 400, 413]), {"auth": creds, "data": {"token": HUGE}}),
        Case(
            "invalid UTF-8 token",
            "POST",
            url,
            Expect([ok]),
            {
                "auth": creds,
                "data": "token=%ff%fe",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        Case("forged JWT token", "POST", url, Expect([ok]), {"auth": creds, "data": {"token": FORGED_JWT}}),
        Case(
            "unknown token_type_hint",
            "POST",
            url,
            Expect([ok, 400], frozenset()),
            {"auth": creds, "data": {"token": "x", "token_type_hint": "magic"}},
        ),
    ]
    run(subtests, cases, rp.redirect_uri)
    assert relying_party.userinfo(signed_in.access_token).status_code == 200, (
        "none of that may revoke the real token"
    )


# --- logout, login and metadata -----------------------------------------------------------------
def test_logout_login_and_metadata_survive_malformed_requests(
    relying_party: RP, signed_in: Tokens, subtests: Any, bridge_url: str
) -> None:
    logout = relying_party.bridge.metadata["end_session_endpoint"]
    assert signed_in.id_token
    back = relying_party.client.post_logout_redirect_uri
    cases = [
        Case(
            "logout: forged id_token_hint",
            "GET",
            logout + "?" + urlencode({"id_token_hint": FORGED_JWT, "post_logout_redirect_uri": back}),
            page(),
        ),
        Case(
            "logout: unsigned id_token_hint",
            "GET",
            logout + "?" + urlencode({"id_token_hint": UNSIGNED_JWT, "post_logout_redirect_uri": back}),
            page(),
        ),
        Case(
            "logout: truncated id_token_hint",
            "GET",
            logout
            + "?"
            + urlencode({"id_token_hint": signed_in.id_token[:-30], "post_logout_redirect_uri": back}),
            page(),
        ),
        Case(
            "logout: 100 KB id_token_hint", "GET", logout + "?" + urlencode({"id_token_hint": HUGE}), page()
        ),
        Case(
            "logout: redirect without client",
            "GET",
            logout + "?" + urlencode({"post_logout_redirect_uri": back}),
            page(),
        ),
        Case(
            "logout: unknown client_id",
            "GET",
            logout + "?" + urlencode({"client_id": "nobody", "post_logout_redirect_uri": back}),
            page(),
        ),
        Case(
            "logout: invalid UTF-8 client_id",
            "GET",
            logout + "?client_id=%ff%fe&post_logout_redirect_uri=" + back,
            page(),
        ),
        Case(
            "logout: hint and other client_id",
            "GET",
            logout
            + "?"
            + urlencode(
                {"id_token_hint": signed_in.id_token, "client_id": "other", "post_logout_redirect_uri": back}
            ),
            page(),
        ),
        Case(
            "login: POST JSON",
            "POST",
            f"{bridge_url}/login",
            page(403),
            {"json": {"login": "a", "password": "b"}},
        ),
        Case("login: invalid UTF-8 next", "GET", f"{bridge_url}/login?next=%ff%fe", Expect([200])),
        Case(
            "login: 100 KB next",
            "GET",
            f"{bridge_url}/login?next=/" + HUGE[:60_000],
            Expect([200, *range(400, 500)]),
        ),
        Case("login: PUT", "PUT", f"{bridge_url}/login", page(403, 405)),
        Case("discovery: POST", "POST", f"{bridge_url}/.well-known/openid-configuration", page(403, 405)),
        Case(
            "discovery: garbage If-None-Match",
            "GET",
            f"{bridge_url}/.well-known/openid-configuration",
            Expect([200]),
            {"headers": {"If-None-Match": "\x01☃".encode()}},
        ),
        Case("jwks: POST", "POST", f"{bridge_url}/jwks", page(403, 405)),
        Case("account: revoke without session", "POST", f"{bridge_url}/account/consents/1/revoke", page(403)),
        Case("account: revoke by GET", "GET", f"{bridge_url}/account/consents/1/revoke", page(405)),
        Case(
            "account: huge consent id",
            "POST",
            f"{bridge_url}/account/consents/{'9' * 40}/revoke",
            Expect([403, 404]),
        ),
    ]
    run(subtests, cases, relying_party.client.redirect_uri)


def test_a_consent_post_with_garbage_fields_is_an_error_page(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    request = relying_party.auth_request("openid")
    page_ = browser.open(request.url)
    assert not isinstance(page_, Callback)
    consent = browser.submit_login(page_, *alice.credentials)
    assert not isinstance(consent, Callback) and consent.kind == "consent"
    form = consent.form("/authorize")
    for name, value in [
        ("client_id", "nobody"),
        ("redirect_uri", "https://evil.example/"),
        ("claims", "[1]"),
        ("scope", "openid " + "x" * 5000),
        ("code_challenge_method", "plain"),
        ("state", "\x00"),
    ]:
        response = browser.request(
            "POST", browser.url("/authorize"), data=form.fields() | {"allow": "Authorize", name: value}
        )
        assert response.status_code < 500, (name, response.status_code)
        assert "evil.example" not in response.headers.get("Location", ""), name
