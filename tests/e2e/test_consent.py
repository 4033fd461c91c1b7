"""Consent as the user sees it: asked once, remembered, listed, withdrawable with every token."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.support import RP, Browser, Callback, Page, User

pytestmark = pytest.mark.e2e


def test_consent_is_asked_once_and_then_remembered(browser: Browser, relying_party: RP, alice: User) -> None:
    relying_party.sign_in(browser, alice.credentials, "openid profile")
    assert browser.shown == ["login", "consent"]
    browser.shown.clear()
    relying_party.sign_in(browser, None, "openid profile")
    assert browser.shown == []


def test_a_wider_scope_asks_again(browser: Browser, relying_party: RP, alice: User) -> None:
    relying_party.sign_in(browser, alice.credentials, "openid")
    browser.shown.clear()
    tokens = relying_party.sign_in(browser, None, "openid email")
    assert browser.shown == ["consent"]
    assert tokens.id_claims is not None and tokens.id_claims["email"] == "alice@example.org"


def test_prompt_consent_asks_even_when_remembered(browser: Browser, relying_party: RP, alice: User) -> None:
    relying_party.sign_in(browser, alice.credentials)
    browser.shown.clear()
    relying_party.sign_in(browser, None, prompt="consent")
    assert browser.shown == ["consent"]


def test_denying_consent_tells_the_rp_access_denied(browser: Browser, relying_party: RP, alice: User) -> None:
    request = relying_party.auth_request("openid profile", state="deny-me")
    page = browser.open(request.url)
    assert isinstance(page, Page)
    page = browser.submit_login(page, *alice.credentials)
    assert isinstance(page, Page) and page.kind == "consent"
    step = browser.consent(page, allow=False)
    assert isinstance(step, Callback), step
    assert step.base == relying_party.client.redirect_uri
    assert step.error == "access_denied"
    assert step.state == "deny-me"
    assert step.iss == relying_party.bridge.issuer
    assert step.code is None
    browser.shown.clear()
    # Nothing was remembered: the next request asks again.
    again = relying_party.auth_request("openid profile", prompt="none")
    step = browser.open(again.url)
    assert isinstance(step, Callback) and step.error == "consent_required", step


def test_tampering_with_the_consent_form_cannot_widen_the_grant(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    request = relying_party.auth_request("openid")
    page = browser.open(request.url)
    assert isinstance(page, Page)
    page = browser.submit_login(page, *alice.credentials)
    assert isinstance(page, Page) and page.kind == "consent"
    form = page.form("/authorize")
    data = form.fields() | {"allow": "Authorize", "redirect_uri": "https://evil.example/callback"}
    step = browser.submit(page, form, data)
    assert not (isinstance(step, Callback) and step.location.startswith("https://evil.example")), step


def test_withdrawing_consent_from_the_account_page_kills_the_clients_tokens(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials, "openid profile")
    assert tokens.refresh_token

    account = browser.open("/account/")
    assert isinstance(account, Page) and account.status == 200
    assert "Test RP test-rp" in account.text, "the account page must list the client the user allowed"
    form = next(f for f in account.forms if "/consents/" in f.action)
    assert form.fields().get("csrfmiddlewaretoken"), "the withdraw form must carry a CSRF token"

    response = browser.request("POST", browser.url(form.action), data=form.fields())
    assert response.status_code in (302, 303)
    after = browser.follow(response)
    assert isinstance(after, Page) and after.status == 200
    assert "Test RP test-rp" in after.text  # the confirmation message names it ...
    assert not any("/consents/" in f.action for f in after.forms)  # ... but it is no longer listed

    assert relying_party.userinfo(tokens.access_token).status_code == 401
    assert relying_party.introspect(tokens.access_token).json() == {"active": False}
    refresh = relying_party.post_token({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"

    browser.shown.clear()
    relying_party.sign_in(browser, None, "openid profile")
    assert browser.shown == ["consent"], "after withdrawal the user must be asked again"


def test_withdrawing_consent_needs_the_csrf_token(browser: Browser, relying_party: RP, alice: User) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials)
    account = browser.open("/account/")
    assert isinstance(account, Page)
    form = next(f for f in account.forms if "/consents/" in f.action)
    response = browser.request("POST", browser.url(form.action), data={})
    assert response.status_code == 403
    assert relying_party.userinfo(tokens.access_token).status_code == 200


def test_withdrawing_one_clients_consent_leaves_the_others_alone(
    browser: Browser, relying_party: RP, make_rp: Callable[..., RP], alice: User
) -> None:
    other = make_rp("other-rp")
    mine = relying_party.sign_in(browser, alice.credentials)
    theirs = other.sign_in(browser, None)
    account = browser.open("/account/")
    assert isinstance(account, Page)
    forms = [f for f in account.forms if "/consents/" in f.action]
    assert len(forms) == 2
    # The list is in no promised order: withdraw the one whose entry names test-rp.
    for form in forms:
        response = browser.request("POST", browser.url(form.action), data=form.fields())
        assert response.status_code in (302, 303)
        if relying_party.userinfo(mine.access_token).status_code == 401:
            break
    assert relying_party.userinfo(mine.access_token).status_code == 401
    assert other.userinfo(theirs.access_token).status_code == 200


def test_another_user_cannot_withdraw_my_consent(
    browser: Browser, new_browser: Callable[[], Browser], relying_party: RP, alice: User, bob: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials)
    account = browser.open("/account/")
    assert isinstance(account, Page)
    action = next(f for f in account.forms if "/consents/" in f.action).action

    mallory = new_browser()
    mallory.login(*bob.credentials)
    bobs_account = mallory.open("/account/")
    assert isinstance(bobs_account, Page)
    response = mallory.request(
        "POST", mallory.url(action), data={"csrfmiddlewaretoken": mallory.csrf_token(bobs_account)}
    )
    assert response.status_code == 404
    assert relying_party.userinfo(tokens.access_token).status_code == 200


def test_a_trusted_client_never_shows_consent(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    trusted = make_rp("trusted-rp", trusted=True)
    tokens = trusted.sign_in(browser, alice.credentials, "openid profile email")
    assert browser.shown == ["login"]
    assert tokens.id_claims is not None and tokens.id_claims["email"] == "alice@example.org"
    browser.shown.clear()
    trusted.sign_in(browser, None, "openid profile email", prompt="none")
    assert browser.shown == []


def test_consent_belongs_to_the_user_who_gave_it(
    browser: Browser, new_browser: Callable[[], Browser], relying_party: RP, alice: User, bob: User
) -> None:
    relying_party.sign_in(browser, alice.credentials)
    other = new_browser()
    relying_party.sign_in(other, bob.credentials)
    assert other.shown == ["login", "consent"], "Bob must be asked himself"
