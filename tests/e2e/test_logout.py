"""RP-Initiated Logout 1.0: the relying party signs the user out of the bridge too."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.support import RP, Browser, Callback, Page, Tokens, User

pytestmark = pytest.mark.e2e

LOGGED_OUT = "https://rp.example.org/logged-out"


@pytest.fixture
def tokens(browser: Browser, relying_party: RP, alice: User) -> Tokens:
    return relying_party.sign_in(browser, alice.credentials)


def logout(browser: Browser, rp: RP, **params: str) -> Page | Callback:
    return browser.open(rp.bridge.metadata["end_session_endpoint"], params)


def assert_still_signed_in(browser: Browser, rp: RP) -> None:
    request = rp.auth_request("openid", prompt="none")
    step = browser.open(request.url)
    assert isinstance(step, Callback) and step.code, f"the session should have survived: {step!r}"


def assert_signed_out(browser: Browser, rp: RP) -> None:
    request = rp.auth_request("openid", prompt="none")
    step = browser.open(request.url)
    assert isinstance(step, Callback), step
    assert step.error == "login_required", step.params
    assert step.state == request.state


def test_logout_with_id_token_hint_returns_to_the_registered_uri_with_state(
    browser: Browser, relying_party: RP, tokens: Tokens
) -> None:
    assert tokens.id_token
    step = logout(
        browser,
        relying_party,
        id_token_hint=tokens.id_token,
        post_logout_redirect_uri=LOGGED_OUT,
        state="bye ü/1",
    )
    assert isinstance(step, Callback), step
    assert step.base == LOGGED_OUT
    assert step.state == "bye ü/1"
    assert_signed_out(browser, relying_party)


def test_logout_with_client_id_and_hint_works_too(
    browser: Browser, relying_party: RP, tokens: Tokens
) -> None:
    assert tokens.id_token
    step = logout(
        browser,
        relying_party,
        id_token_hint=tokens.id_token,
        client_id=relying_party.client_id,
        post_logout_redirect_uri=LOGGED_OUT,
    )
    assert isinstance(step, Callback) and step.base == LOGGED_OUT, step
    assert "state" not in step.params
    assert_signed_out(browser, relying_party)


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/logged-out",
        LOGGED_OUT + "/",
        LOGGED_OUT + "?next=https://evil.example/",
        "https://RP.example.org/logged-out",
        "https://rp.example.org/callback",  # a redirect URI, but not a post-logout one
        "//rp.example.org/logged-out",
        "https:rp.example.org/logged-out",
        "https://rp.example.org\\@evil.example/logged-out",
        "javascript:alert(1)//https://rp.example.org/logged-out",
    ],
)
def test_unregistered_post_logout_redirect_uri_gets_an_error_page_and_no_redirect(
    browser: Browser, relying_party: RP, tokens: Tokens, uri: str
) -> None:
    assert tokens.id_token
    response = browser.request(
        "GET",
        relying_party.bridge.metadata["end_session_endpoint"],
        params={"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri, "state": "s"},
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert "Location" not in response.headers
    assert "evil.example" not in response.headers.get("Refresh", "")
    assert_still_signed_in(browser, relying_party)


def test_post_logout_redirect_of_another_client_is_refused(
    browser: Browser, relying_party: RP, make_rp: Callable[..., RP], tokens: Tokens
) -> None:
    make_rp("other-rp", post_logout_redirect_uri="https://other.example.org/bye")
    assert tokens.id_token
    response = browser.request(
        "GET",
        relying_party.bridge.metadata["end_session_endpoint"],
        params={
            "id_token_hint": tokens.id_token,
            "post_logout_redirect_uri": "https://other.example.org/bye",
        },
    )
    assert 400 <= response.status_code < 500
    assert "Location" not in response.headers


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_logout_with_a_forged_id_token_hint_is_refused_without_redirect(
    browser: Browser, relying_party: RP, tokens: Tokens, hint: str
) -> None:
    response = browser.request(
        "GET",
        relying_party.bridge.metadata["end_session_endpoint"],
        params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT},
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert "Location" not in response.headers
    assert_still_signed_in(browser, relying_party)


def test_logout_of_another_users_hint_asks_before_signing_out(
    browser: Browser, new_browser: Callable[[], Browser], relying_party: RP, tokens: Tokens, bob: User
) -> None:
    # RP-Initiated Logout 1.0 section 2: the OP MUST ask when the hint is not the signed-in user's.
    bobs = relying_party.sign_in(new_browser(), bob.credentials)
    assert bobs.id_token
    step = logout(browser, relying_party, id_token_hint=bobs.id_token, post_logout_redirect_uri=LOGGED_OUT)
    assert isinstance(step, Page) and step.status == 200, step
    assert any(f.action.endswith("/logout") for f in step.forms), "a confirmation form was expected"
    assert_still_signed_in(browser, relying_party)


def test_signing_out_from_the_account_page(browser: Browser, relying_party: RP, tokens: Tokens) -> None:
    account = browser.open("/account/")
    assert isinstance(account, Page) and account.status == 200
    form = account.form("/logout")
    step = browser.submit(account, form, form.fields())
    assert isinstance(step, Page) and step.status == 200, step
    assert_signed_out(browser, relying_party)
