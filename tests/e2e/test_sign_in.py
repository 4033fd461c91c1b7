"""A user signs in to a relying party: authorization code + PKCE, the way Globus Auth does it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest
from django.conf import settings

from tests.e2e.support import RP, Browser, Callback, Page, User

pytestmark = pytest.mark.e2e


def test_full_sign_in_with_pkce_and_client_secret_basic(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    request = relying_party.auth_request("openid profile email")
    assert request.params["code_challenge_method"] == "S256"

    login_page = browser.open(request.url)
    assert isinstance(login_page, Page) and login_page.kind == "login"
    before = time.time()
    consent_page = browser.submit_login(login_page, *alice.credentials)
    after = time.time()
    assert isinstance(consent_page, Page) and consent_page.kind == "consent"
    assert "alice.smith@portal.example.edu" in consent_page.text, "the user sees what will be released"
    callback = browser.consent(consent_page)
    assert isinstance(callback, Callback)
    assert browser.shown == ["login", "consent"]

    tokens = relying_party.exchange(callback, request)  # Authlib, client_secret_basic, code_verifier
    assert tokens.raw["token_type"].lower() == "bearer"
    assert tokens.raw["expires_in"] > 0
    assert set(tokens.raw["scope"].split()) == {"openid", "profile", "email"}
    assert tokens.refresh_token

    claims = tokens.id_claims
    assert claims is not None
    # exchange() has already verified signature, iss, aud, exp, iat, nonce and at_hash.
    assert math.floor(before) <= claims["auth_time"] <= math.ceil(after)
    assert claims["acr"] == settings.BRIDGE_ACR
    assert claims["amr"] == ["pwd"]
    assert claims["preferred_username"] == "alice.smith@portal.example.edu"
    assert claims["name"] == "Alice Smith"
    assert claims["email"] == "alice@example.org"
    assert claims["organization"] == "Example University"

    by_header = relying_party.userinfo(tokens.access_token)
    by_body = relying_party.userinfo(tokens.access_token, method="POST-BODY")
    assert by_header.status_code == 200, by_header.text
    assert by_body.status_code == 200, by_body.text
    assert by_header.headers["Content-Type"].startswith("application/json")
    assert "no-store" in by_header.headers.get("Cache-Control", "")
    assert by_header.json() == tokens.user_claims(), "ID token and userinfo disagree for one grant"
    assert by_body.json() == by_header.json()


def test_userinfo_also_accepts_the_bearer_header_on_post(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials, "openid profile")
    response = relying_party.userinfo(tokens.access_token, method="POST")
    assert response.status_code == 200
    assert response.json() == tokens.user_claims()


def test_client_registered_for_client_secret_post_signs_in_with_it(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    post_rp = make_rp("post-rp", auth_method="client_secret_post")
    tokens = post_rp.sign_in(browser, alice.credentials, "openid email")
    assert tokens.id_claims is not None and tokens.id_claims["aud"] == "post-rp"
    assert tokens.id_claims["email"] == "alice@example.org"


def _code_for(rp: RP, browser: Browser, user: User) -> tuple[str, str]:
    request = rp.auth_request("openid")
    callback = browser.authorize(request.url, user=user.credentials)
    assert request.code_verifier is not None
    return rp.check_callback(callback, request), request.code_verifier


def test_basic_client_that_sends_its_secret_in_the_body_is_refused(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    code, verifier = _code_for(relying_party, browser, alice)
    response = relying_party.post_token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": relying_party.client.redirect_uri,
            "code_verifier": verifier,
        },
        client_auth="client_secret_post",
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


def test_post_client_that_sends_basic_is_refused(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    post_rp = make_rp("post-rp", auth_method="client_secret_post")
    code, verifier = _code_for(post_rp, browser, alice)
    response = post_rp.post_token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": post_rp.client.redirect_uri,
            "code_verifier": verifier,
        },
        client_auth="client_secret_basic",
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("scope", ["openid", "openid profile email"])
def test_sub_is_stable_and_opaque_across_sign_ins(
    browser: Browser, new_browser: Callable[[], Browser], relying_party: RP, alice: User, scope: str
) -> None:
    first = relying_party.sign_in(browser, alice.credentials, scope)
    second = relying_party.sign_in(new_browser(), alice.credentials, scope)
    assert first.id_claims is not None and second.id_claims is not None
    assert first.id_claims["sub"] == second.id_claims["sub"]
    sub = first.id_claims["sub"]
    assert str(alice.uid) != sub and "alice" not in sub.lower(), (
        "sub must reveal neither the legacy id nor the login"
    )
