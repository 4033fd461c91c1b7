"""The token endpoint as a relying party meets it: codes, PKCE, client authentication, refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.support import RP, Browser, Callback, Page, User

pytestmark = pytest.mark.e2e


def fresh_code(
    rp: RP, browser: Browser, user: User, scope: str = "openid", **extra: str
) -> tuple[str, str | None]:
    request = rp.auth_request(scope, **extra)
    callback = browser.authorize(request.url, user=user.credentials)
    return rp.check_callback(callback, request), request.code_verifier


def code_grant(rp: RP, code: str, verifier: str | None, **overrides: str | None) -> dict[str, str]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.client.redirect_uri,
        "code_verifier": verifier,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def assert_token_error(
    response: requests.Response, error: str | set[str], status: int = 400
) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["error"] in ({error} if isinstance(error, str) else error), body
    assert "access_token" not in body
    assert "no-store" in response.headers.get("Cache-Control", "")
    return body


# --- authorization codes ------------------------------------------------------------------------
def test_a_code_can_be_redeemed_only_once(browser: Browser, relying_party: RP, alice: User) -> None:
    code, verifier = fresh_code(relying_party, browser, alice)
    first = relying_party.post_token(code_grant(relying_party, code, verifier))
    assert first.status_code == 200, first.text
    second = relying_party.post_token(code_grant(relying_party, code, verifier))
    assert_token_error(second, "invalid_grant")


def test_replaying_a_code_revokes_the_tokens_issued_for_it(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # RFC 6749 4.1.2: "If an authorization code is used more than once, the authorization server
    # MUST deny the request and SHOULD revoke (when possible) all tokens previously issued based on
    # that authorization code." A replayed code means the code leaked; the tokens may be an attacker's.
    code, verifier = fresh_code(relying_party, browser, alice)
    first = relying_party.post_token(code_grant(relying_party, code, verifier)).json()
    relying_party.post_token(code_grant(relying_party, code, verifier))

    assert relying_party.userinfo(first["access_token"]).status_code == 401
    refreshed = relying_party.post_token(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert_token_error(refreshed, "invalid_grant")


def test_a_code_is_bound_to_the_redirect_uri_it_was_issued_for(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    code, verifier = fresh_code(relying_party, browser, alice)
    response = relying_party.post_token(
        code_grant(relying_party, code, verifier, redirect_uri="https://rp.example.org/other")
    )
    assert_token_error(response, "invalid_grant")


def test_a_code_is_bound_to_the_client_it_was_issued_to(
    browser: Browser, relying_party: RP, make_rp: Callable[..., RP], alice: User
) -> None:
    other = make_rp("other-rp")
    code, verifier = fresh_code(relying_party, browser, alice)
    response = other.post_token(code_grant(other, code, verifier))
    assert_token_error(response, "invalid_grant")


def test_wrong_client_secret_is_invalid_client(browser: Browser, relying_party: RP, alice: User) -> None:
    code, verifier = fresh_code(relying_party, browser, alice)
    response = relying_party.post_token(
        code_grant(relying_party, code, verifier),
        client_auth=False,
        auth=(relying_party.client_id, "wrong-" + "x" * 40),
    )
    assert_token_error(response, "invalid_client", status=401)
    assert "WWW-Authenticate" in response.headers


def test_invalid_client_after_basic_auth_challenges_with_the_basic_scheme(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # RFC 6749 5.2: after a failed Authorization-header authentication the server MUST answer 401
    # with a WWW-Authenticate header "matching the authentication scheme used by the client".
    response = relying_party.post_token(
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": relying_party.client.redirect_uri},
        client_auth=False,
        auth=(relying_party.client_id, "wrong-" + "x" * 40),
    )
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").split(" ")[0].lower() == "basic", response.headers


def test_wrong_code_verifier_is_invalid_grant(browser: Browser, relying_party: RP, alice: User) -> None:
    code, _ = fresh_code(relying_party, browser, alice)
    response = relying_party.post_token(code_grant(relying_party, code, "w" * 43))
    assert_token_error(response, "invalid_grant")


def test_missing_code_verifier_for_a_code_issued_with_a_challenge_is_refused(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # RFC 7636 4.6; RFC 9700 2.1.1: a confidential client that sent a challenge must prove it too.
    code, _ = fresh_code(relying_party, browser, alice)
    response = relying_party.post_token(code_grant(relying_party, code, None))
    assert_token_error(response, {"invalid_grant", "invalid_request"})


def test_code_verifier_sent_for_a_code_issued_without_a_challenge_is_refused(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # RFC 9700 4.8.2 (PKCE downgrade): a code_verifier for a code that had no challenge is an error.
    request = relying_party.auth_request("openid", pkce=False)
    callback = browser.authorize(request.url, user=alice.credentials)
    code = relying_party.check_callback(callback, request)
    response = relying_party.post_token(code_grant(relying_party, code, "v" * 43))
    assert_token_error(response, {"invalid_grant", "invalid_request"})


def test_confidential_client_without_pkce_still_signs_in(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    # Globus Auth may not send PKCE (DECISIONS.md), so it is not required of confidential clients.
    tokens = relying_party.sign_in(browser, alice.credentials, pkce=False)
    assert tokens.id_claims is not None


# --- public clients -----------------------------------------------------------------------------
def test_public_client_without_pkce_is_refused_at_the_redirect_uri(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    # RFC 7636 4.4.1, RFC 9700 2.1.1 and DECISIONS.md: PKCE is required of public clients. Whether
    # the user is asked to sign in first is the bridge's choice; no code may come out of it.
    public = make_rp("public-rp", public=True)
    request = public.auth_request("openid", pkce=False)
    step = browser.open(request.url)
    if isinstance(step, Page) and step.kind == "login":
        step = browser.submit_login(step, *alice.credentials)
    if isinstance(step, Page) and step.kind == "consent":
        step = browser.consent(step)
    assert isinstance(step, Callback), step
    assert step.base == public.client.redirect_uri
    assert step.code is None, "a public client got a code without PKCE"
    assert step.error == "invalid_request", step.params
    assert step.state == request.state


def test_public_client_signs_in_with_pkce_and_no_secret(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    public = make_rp("public-rp", public=True)
    tokens = public.sign_in(browser, alice.credentials, "openid profile")
    assert tokens.id_claims is not None
    assert tokens.id_claims["aud"] == "public-rp"
    assert public.userinfo(tokens.access_token).json() == tokens.user_claims()


def test_public_client_cannot_redeem_a_code_without_the_verifier(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    public = make_rp("public-rp", public=True)
    code, _ = fresh_code(public, browser, alice)
    response = public.post_token(code_grant(public, code, None))
    assert_token_error(response, {"invalid_grant", "invalid_request"})


# --- refresh tokens -----------------------------------------------------------------------------
def test_refresh_rotates_and_keeps_the_identity_and_auth_time(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials, "openid profile")
    assert tokens.refresh_token and tokens.id_claims

    refreshed = relying_party.refresh(tokens.refresh_token)
    assert refreshed["refresh_token"] != tokens.refresh_token
    assert refreshed["access_token"] != tokens.access_token
    assert "id_token" in refreshed
    claims = relying_party.validate_id_token(
        refreshed["id_token"], nonce=None, access_token=refreshed["access_token"]
    )
    # OIDC Core 12.2: same iss, sub and aud; auth_time is the original authentication's.
    assert claims["sub"] == tokens.id_claims["sub"]
    assert claims["auth_time"] == tokens.id_claims["auth_time"]
    assert claims["acr"] == tokens.id_claims["acr"] and claims["amr"] == tokens.id_claims["amr"]
    assert claims.get("nonce") in (None, tokens.id_claims["nonce"])
    userinfo = relying_party.userinfo(refreshed["access_token"])
    assert userinfo.status_code == 200
    assert userinfo.json() == {k: v for k, v in claims.items() if k in userinfo.json()}
    assert userinfo.json() == tokens.user_claims()

    again = relying_party.refresh(refreshed["refresh_token"])
    assert again["refresh_token"] not in (tokens.refresh_token, refreshed["refresh_token"])


def test_a_rotated_refresh_token_is_dead_and_replaying_it_revokes_the_family(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials)
    assert tokens.refresh_token
    newer = relying_party.refresh(tokens.refresh_token)

    replay = relying_party.post_token({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    assert_token_error(replay, "invalid_grant")

    # RFC 9700 4.14.2: the server cannot tell who replayed it, so the whole family goes.
    after = relying_party.post_token({"grant_type": "refresh_token", "refresh_token": newer["refresh_token"]})
    assert_token_error(after, "invalid_grant")


def test_refresh_cannot_widen_the_scope(browser: Browser, relying_party: RP, alice: User) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials, "openid")
    assert tokens.refresh_token
    response = relying_party.post_token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "scope": "openid profile email",
        }
    )
    assert_token_error(response, "invalid_scope")


def test_refresh_token_of_another_client_is_invalid_grant(
    browser: Browser, relying_party: RP, make_rp: Callable[..., RP], alice: User
) -> None:
    other = make_rp("other-rp")
    tokens = relying_party.sign_in(browser, alice.credentials)
    assert tokens.refresh_token
    response = other.post_token({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    assert_token_error(response, "invalid_grant")
    assert relying_party.refresh(tokens.refresh_token)["access_token"], "the owner's token must still work"


# --- grant types and scopes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"grant_type": "password", "username": "Alice.Smith", "password": "x"},
            {"unsupported_grant_type", "unauthorized_client"},
        ),
        (
            {"grant_type": "client_credentials", "scope": "openid"},
            {"unsupported_grant_type", "unauthorized_client"},
        ),
        ({"grant_type": "implicit"}, {"unsupported_grant_type"}),
        # RFC 8628 3.4 + RFC 6749 5.2: a 400 with a registered error code; an unknown device_code
        # is at worst invalid_grant. Discovery does not list this grant at all.
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"},
            {"unsupported_grant_type", "unauthorized_client", "invalid_grant"},
        ),
        ({"grant_type": "made-up"}, {"unsupported_grant_type"}),
    ],
    ids=["password", "client_credentials", "implicit", "device_code", "made-up"],
)
def test_grant_types_the_bridge_does_not_offer_are_refused(
    relying_party: RP, alice: User, data: dict[str, str], errors: set[str]
) -> None:
    response = relying_party.post_token(data)
    assert_token_error(response, errors)


def test_the_password_grant_never_checks_a_password(relying_party: RP, alice: User) -> None:
    # RFC 9700 2.4: the resource owner password credentials grant MUST NOT be used. A bridge that
    # still verifies the password before refusing the grant answers differently for a right and a
    # wrong password: a password oracle for the local (admin) accounts, open to any client.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("staffer", password="staff-password-123", is_staff=True)
    answers = []
    for password in ("staff-password-123", "not-the-password"):
        response = relying_party.post_token(
            {"grant_type": "password", "username": "staffer", "password": password, "scope": "openid"}
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1], f"right and wrong password are told apart: {answers}"
    assert answers[0][1]["error"] == "unsupported_grant_type"


def test_the_token_response_is_not_cacheable_and_is_json(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    code, verifier = fresh_code(relying_party, browser, alice)
    response = relying_party.post_token(code_grant(relying_party, code, verifier))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers.get("Cache-Control", "")  # RFC 6749 5.1


def test_an_expired_looking_code_from_another_flow_is_invalid_grant(relying_party: RP, alice: User) -> None:
    response = relying_party.post_token(code_grant(relying_party, "never-issued-code", "v" * 43))
    assert_token_error(response, "invalid_grant")
