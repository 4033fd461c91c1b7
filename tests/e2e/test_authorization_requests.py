"""The authorization endpoint's decisions: prompt, max_age, id_token_hint, claims, state, redirect URIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.support import RP, Bridge, Browser, Callback, Page, User, wait_for_next_second, with_params

pytestmark = pytest.mark.e2e


def signed_in(browser: Browser, user: User) -> None:
    """The user has a session at the bridge (signed in at its own login page)."""
    page = browser.login(*user.credentials)
    assert isinstance(page, Page) and page.kind != "login", page


def assert_error_at_redirect_uri(step: Page | Callback, rp: RP, error: str, state: str) -> Callback:
    assert isinstance(step, Callback), f"expected error={error} at the redirect URI, got {step!r}"
    assert step.base == rp.client.redirect_uri
    assert step.error == error, step.params
    assert step.state == state
    assert step.iss == rp.bridge.issuer
    assert step.code is None
    return step


# --- prompt=none --------------------------------------------------------------------------------
def test_prompt_none_without_a_session_is_login_required(browser: Browser, relying_party: RP) -> None:
    request = relying_party.auth_request("openid", prompt="none")
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "login_required", request.state)
    assert browser.shown == [], "prompt=none must never show a page"


def test_prompt_none_with_a_session_but_no_consent_is_consent_required(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    signed_in(browser, alice)
    browser.shown.clear()
    request = relying_party.auth_request("openid", prompt="none")
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "consent_required", request.state)
    assert browser.shown == []


def test_prompt_none_with_session_and_consent_returns_a_code_without_any_page(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    first = relying_party.sign_in(browser, alice.credentials, "openid profile")
    browser.shown.clear()

    request = relying_party.auth_request("openid profile", prompt="none")
    callback = browser.open(request.url)
    assert isinstance(callback, Callback), callback
    assert browser.shown == []
    tokens = relying_party.exchange(callback, request)
    assert tokens.id_claims is not None and first.id_claims is not None
    assert tokens.id_claims["sub"] == first.id_claims["sub"]
    assert tokens.id_claims["auth_time"] == first.id_claims["auth_time"], "no new authentication happened"


def test_prompt_none_with_another_prompt_value_is_invalid_request(
    browser: Browser, relying_party: RP
) -> None:
    request = relying_party.auth_request("openid", prompt="none login")
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "invalid_request", request.state)


# --- re-authentication --------------------------------------------------------------------------
def test_prompt_login_asks_for_the_password_again_and_moves_auth_time(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    first = relying_party.sign_in(browser, alice.credentials)
    wait_for_next_second()
    browser.shown.clear()

    second = relying_party.sign_in(browser, alice.credentials, prompt="login")
    assert browser.shown == ["login"], "prompt=login must show the login page even with a session"
    assert first.id_claims is not None and second.id_claims is not None
    assert second.id_claims["auth_time"] > first.id_claims["auth_time"]
    assert second.id_claims["sub"] == first.id_claims["sub"]


def test_max_age_zero_forces_a_fresh_login(browser: Browser, relying_party: RP, alice: User) -> None:
    first = relying_party.sign_in(browser, alice.credentials)
    wait_for_next_second()
    browser.shown.clear()

    second = relying_party.sign_in(browser, alice.credentials, max_age="0")
    assert browser.shown == ["login"]
    assert first.id_claims is not None and second.id_claims is not None
    assert second.id_claims["auth_time"] > first.id_claims["auth_time"]


def test_a_generous_max_age_does_not_ask_again(browser: Browser, relying_party: RP, alice: User) -> None:
    first = relying_party.sign_in(browser, alice.credentials)
    browser.shown.clear()

    second = relying_party.sign_in(browser, None, max_age="86400")
    assert browser.shown == []
    assert first.id_claims is not None and second.id_claims is not None
    # OIDC Core 3.1.2.1: with max_age, auth_time is REQUIRED in the ID token.
    assert second.id_claims["auth_time"] == first.id_claims["auth_time"]


def test_a_malformed_max_age_is_invalid_request(
    browser: Browser, relying_party: RP, alice: User, subtests: Any
) -> None:
    relying_party.sign_in(browser, alice.credentials)
    for max_age in ["-1", "soon", "1.5", "", "99999999999"]:
        with subtests.test(max_age=max_age):
            request = relying_party.auth_request("openid", max_age=max_age)
            assert_error_at_redirect_uri(
                browser.open(request.url), relying_party, "invalid_request", request.state
            )


# --- id_token_hint ------------------------------------------------------------------------------
def test_id_token_hint_of_the_signed_in_user_with_prompt_none_returns_a_code(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    first = relying_party.sign_in(browser, alice.credentials)
    browser.shown.clear()
    request = relying_party.auth_request("openid", prompt="none", id_token_hint=first.id_token)
    callback = browser.open(request.url)
    assert isinstance(callback, Callback) and callback.code, callback
    assert browser.shown == []
    relying_party.exchange(callback, request)


def test_id_token_hint_of_another_user_is_login_required(
    browser: Browser, new_browser: Callable[[], Browser], relying_party: RP, alice: User, bob: User
) -> None:
    bobs = relying_party.sign_in(new_browser(), bob.credentials)
    relying_party.sign_in(browser, alice.credentials)

    request = relying_party.auth_request("openid", prompt="none", id_token_hint=bobs.id_token)
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "login_required", request.state)


def test_a_malformed_id_token_hint_is_invalid_request_at_the_redirect_uri(
    browser: Browser, relying_party: RP, alice: User, subtests: Any
) -> None:
    relying_party.sign_in(browser, alice.credentials)
    for hint in ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a.b.c", ""]:
        with subtests.test(hint=hint):
            request = relying_party.auth_request("openid", id_token_hint=hint)
            assert_error_at_redirect_uri(
                browser.open(request.url), relying_party, "invalid_request", request.state
            )


def test_a_truncated_id_token_hint_is_invalid_request(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    first = relying_party.sign_in(browser, alice.credentials)
    assert first.id_token is not None
    request = relying_party.auth_request("openid", prompt="none", id_token_hint=first.id_token[:-10])
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "invalid_request", request.state)


# --- the claims parameter -----------------------------------------------------------------------
def test_claims_parameter_adds_email_to_id_token_and_userinfo(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(
        browser, alice.credentials, "openid", claims=json.dumps({"id_token": {"email": None}})
    )
    assert tokens.id_claims is not None
    assert tokens.id_claims["email"] == "alice@example.org"
    userinfo = relying_party.userinfo(tokens.access_token).json()
    # One grant, one set of claims, wherever they are read (DECISIONS.md).
    assert userinfo == tokens.user_claims()
    assert userinfo["email"] == "alice@example.org"


def test_claims_parameter_demanding_another_sub_is_login_required(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    relying_party.sign_in(browser, alice.credentials)
    claims = json.dumps({"id_token": {"sub": {"value": "someone-else"}}})
    request = relying_party.auth_request("openid", claims=claims)
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "login_required", request.state)


def test_a_malformed_claims_parameter_is_invalid_request(
    browser: Browser, relying_party: RP, alice: User, subtests: Any
) -> None:
    # OIDC Core 5.5: a JSON object whose members are objects. Not-JSON-at-all is in
    # test_malformed_input.py's table.
    relying_party.sign_in(browser, alice.credentials)
    for claims in [
        "[]",
        '["email"]',
        '"email"',
        "42",
        '{"id_token": ["email"]}',
        '{"userinfo": {"email": 1}}',
    ]:
        with subtests.test(claims=claims):
            request = relying_party.auth_request("openid", claims=claims)
            assert_error_at_redirect_uri(
                browser.open(request.url), relying_party, "invalid_request", request.state
            )


# --- parameters that must not disturb anything ------------------------------------------------
def test_unknown_parameters_are_ignored(browser: Browser, relying_party: RP, alice: User) -> None:
    tokens = relying_party.sign_in(
        browser,
        alice.credentials,
        "openid",
        foo="bar",
        x_custom_thing="1",
        ui_locales="de fr",
        display="page",
    )
    assert tokens.id_claims is not None


@pytest.mark.parametrize(
    "state",
    [
        "plain",
        "with spaces and+plus/slash?q=1&a=b#frag",
        "percent%20and%2525",
        "ünïcödé ☃ 🎉",
        "\"quotes' <tags> &amp;",
        "x" * 2000,
    ],
    ids=["plain", "reserved", "percent", "unicode", "html", "long"],
)
def test_state_is_echoed_exactly(browser: Browser, relying_party: RP, alice: User, state: str) -> None:
    request = relying_party.auth_request("openid", state=state)
    callback = browser.authorize(request.url, user=alice.credentials)
    assert callback.state == state
    assert [v for k, v in callback.pairs if k == "state"] == [state]
    relying_party.exchange(callback, request)


def test_state_is_echoed_exactly_on_errors(browser: Browser, relying_party: RP) -> None:
    state = "a b+c/d?e=f&g#h ü"
    request = relying_party.auth_request("openid", prompt="none", state=state)
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "login_required", state)


def test_no_state_means_no_state_in_the_response(browser: Browser, relying_party: RP, alice: User) -> None:
    request = relying_party.auth_request("openid")
    callback = browser.authorize(_without(request.url, "state"), user=alice.credentials)
    assert "state" not in callback.params
    assert callback.code


def _without(url: str, name: str) -> str:
    base, _, query_string = url.partition("?")
    kept = [part for part in query_string.split("&") if not part.startswith(name + "=")]
    return base + "?" + "&".join(kept)


def test_scope_without_openid_is_refused_at_the_redirect_uri(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # The bridge only signs people in: a plain OAuth request would yield a token good for nothing
    # (userinfo needs openid) after a consent page listing nothing, so it is refused outright.
    relying_party.sign_in(browser, alice.credentials)
    request = relying_party.auth_request("profile email", nonce=False)
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "invalid_scope", request.state)


# --- bad clients and redirect URIs: an error page, never a redirect -----------------------------
REGISTERED = "https://rp.example.org/callback"
BAD_REDIRECTS = {
    "unregistered": {"redirect_uri": "https://evil.example/callback"},
    "extra-query-parameter": {"redirect_uri": REGISTERED + "?next=https://evil.example/"},
    "host-case": {"redirect_uri": "https://RP.example.org/callback"},
    "trailing-slash": {"redirect_uri": REGISTERED + "/"},
    "path-prefix": {"redirect_uri": REGISTERED + "/evil"},
    "http-instead-of-https": {"redirect_uri": "http://rp.example.org/callback"},
    "missing": {"redirect_uri": None},
    "repeated": {"redirect_uri": [REGISTERED, "https://evil.example/callback"]},
    "unknown-client": {"client_id": "no-such-client"},
    "missing-client": {"client_id": None},
}


def test_bad_client_or_redirect_uri_gets_an_error_page_and_never_a_redirect(
    bridge: Bridge,
    browser: Browser,
    new_browser: Callable[[], Browser],
    relying_party: RP,
    alice: User,
    subtests: Any,
) -> None:
    # RFC 6749 3.1.2.4 and 4.1.2.1; OIDC Core 3.1.2.1 (exact string match).
    relying_party.sign_in(browser, alice.credentials)  # consent given: the dangerous case
    anonymous = new_browser()
    for case, overrides in BAD_REDIRECTS.items():
        params: list[tuple[str, str]] = [
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ]
        values: dict[str, object] = {
            "client_id": relying_party.client_id,
            "redirect_uri": REGISTERED,
        } | overrides
        for name, value in values.items():
            for one in value if isinstance(value, list) else [value]:
                if one is not None:
                    params.append((name, str(one)))
        url = bridge.metadata["authorization_endpoint"] + "?" + urlencode(params)
        for who, user_browser in (("with session", browser), ("no session", anonymous)):
            with subtests.test(case=case, who=who):
                response = user_browser.request("GET", url)
                assert 400 <= response.status_code < 500, (
                    response.status_code,
                    response.headers.get("Location"),
                )
                assert "Location" not in response.headers
                assert response.headers["Content-Type"].startswith("text/html")
                page = Page.parse(response)
                assert page.kind == "error", page
                assert "code=" not in response.text


def test_response_types_other_than_code_are_refused_at_the_redirect_uri(
    browser: Browser, relying_party: RP, alice: User, subtests: Any
) -> None:
    relying_party.sign_in(browser, alice.credentials)
    for response_type in [
        "token",
        "id_token",
        "code id_token",
        "code token",
        "id_token token",
        "none",
        "bogus",
    ]:
        with subtests.test(response_type=response_type):
            request = relying_party.auth_request("openid")
            step = browser.open(with_params(request.url, response_type=response_type))
            assert isinstance(step, Callback), step
            assert step.base == relying_party.client.redirect_uri
            # RFC 6749 4.1.2.1. The bridge supports only "code" (discovery says so), so
            # unsupported_response_type is exact; unauthorized_client ("this client may not") is
            # tolerable for response types the bridge knows of.
            acceptable = {"unsupported_response_type"}
            if response_type != "bogus":
                acceptable.add("unauthorized_client")
            assert step.error in acceptable, step.params
            assert step.code is None
            assert "access_token" not in step.location and "id_token" not in step.params
            assert step.state == request.state


def test_unknown_scopes_are_ignored_not_refused(browser: Browser, relying_party: RP, alice: User) -> None:
    # OIDC Core 3.1.2.1: scope values the provider does not understand SHOULD be ignored; relying
    # parties routinely add offline_access, address or phone.
    request = relying_party.auth_request("openid offline_access admin email")
    callback = browser.authorize(request.url, user=alice.credentials)
    tokens = relying_party.exchange(callback, request)
    assert set(tokens.raw["scope"].split()) == {"openid", "email"}
    assert tokens.id_claims is not None and tokens.id_claims["email"] == "alice@example.org"


def test_only_unknown_scopes_is_invalid_scope(browser: Browser, relying_party: RP, alice: User) -> None:
    relying_party.sign_in(browser, alice.credentials)
    request = relying_party.auth_request("admin")
    assert_error_at_redirect_uri(browser.open(request.url), relying_party, "invalid_scope", request.state)


def test_plain_pkce_is_refused(browser: Browser, relying_party: RP) -> None:
    request = relying_party.auth_request("openid")
    url = with_params(request.url, code_challenge_method="plain")
    assert_error_at_redirect_uri(browser.open(url), relying_party, "invalid_request", request.state)


def test_request_objects_are_refused_as_discovery_says(browser: Browser, relying_party: RP) -> None:
    request = relying_party.auth_request("openid", request="eyJhbGciOiJub25lIn0.e30.")
    assert_error_at_redirect_uri(
        browser.open(request.url), relying_party, "request_not_supported", request.state
    )


def test_response_modes_other_than_query_are_refused_as_discovery_says(
    browser: Browser, relying_party: RP, alice: User, bridge: Bridge
) -> None:
    # The bridge answers only in the query (as Globus Auth expects) and says so in discovery;
    # a relying party asking for another mode gets a clear error rather than a silent query answer.
    assert bridge.metadata["response_modes_supported"] == ["query"]
    for mode in ("fragment", "form_post"):
        request = relying_party.auth_request("openid", response_mode=mode)
        callback = browser.authorize(request.url, user=alice.credentials)
        assert not callback.in_fragment
        assert callback.params["error"] == "invalid_request", callback.location
        assert callback.params["state"] == request.state
