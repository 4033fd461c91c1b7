"""The legacy login as a person meets it: one message for every failure, every old hash works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.support import RP, Browser, Callback, Page, User

pytestmark = pytest.mark.e2e

SCHEMES = ["bcrypt", "pbkdf2_sha256", "phpass", "sha512_crypt"]


def test_the_login_page_is_accessible_and_protected(browser: Browser) -> None:
    page = browser.login_page()
    assert page.status == 200
    assert "no-cache" in page.response.headers.get(
        "Cache-Control", ""
    ) or "no-store" in page.response.headers.get("Cache-Control", "")
    assert page.response.headers.get("X-Frame-Options") == "DENY"
    form = page.form("/login")
    assert form.method == "post"

    login = form.input("login")
    password = form.input("password")
    assert login.get("autocomplete") == "username"
    assert password.get("autocomplete") == "current-password"
    assert password.get("type") == "password"
    assert "value" not in password or password["value"] == ""
    assert page.labels.get(login["id"]) == "Username", page.labels
    assert page.labels.get(password["id"]) == "Password", page.labels

    csrf = form.input("csrfmiddlewaretoken")
    assert csrf.get("type") == "hidden" and len(csrf.get("value", "")) >= 32


def test_login_without_the_csrf_token_is_refused(browser: Browser, alice: User) -> None:
    browser.login_page()
    response = browser.request(
        "POST", browser.url("/login"), data={"login": alice.login, "password": alice.password}
    )
    assert response.status_code == 403
    account = browser.open("/account/")
    assert isinstance(account, Page) and account.kind == "login", "no session may come out of it"


def test_wrong_password_unknown_user_and_suspended_user_look_the_same(
    new_browser: Callable[[], Browser], add_user: Callable[..., User], alice: User
) -> None:
    suspended = add_user("suspended.user", status=0)
    attempts = {
        "wrong password": (alice.login, "not the password"),
        "unknown user": ("nobody.here", "whatever password"),
        "suspended": suspended.credentials,
    }
    outcomes = {}
    for label, (username, password) in attempts.items():
        browser = new_browser()
        step = browser.login(username, password)
        assert isinstance(step, Page), f"{label}: {step!r}"
        assert step.kind == "login", f"{label}: the login page must be shown again"
        outcomes[label] = (step.status, step.text)
    assert len(set(outcomes.values())) == 1, outcomes
    status, text = outcomes["wrong password"]
    assert status == 200
    assert "The username or password is incorrect." in text


@pytest.mark.parametrize("scheme", SCHEMES)
def test_legacy_users_of_every_hash_scheme_can_sign_in(
    browser: Browser, relying_party: RP, add_user: Callable[..., User], scheme: str
) -> None:
    user = add_user(f"user.{scheme}", f"pässwörd for {scheme}!", scheme=scheme)
    tokens = relying_party.sign_in(browser, user.credentials, "openid profile")
    assert tokens.id_claims is not None
    assert tokens.id_claims["preferred_username"] == f"user.{scheme}@portal.example.edu"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_wrong_password_fails_for_every_hash_scheme(
    browser: Browser, add_user: Callable[..., User], scheme: str
) -> None:
    user = add_user(f"user.{scheme}", f"pässwörd for {scheme}!", scheme=scheme)
    step = browser.login(user.login, user.password + " ")
    assert isinstance(step, Page) and step.kind == "login"
    assert "The username or password is incorrect." in step.text


@pytest.mark.parametrize(
    "password",
    [
        "a-very-long-passphrase-" * 5,  # 115 ASCII bytes
        "a" + "é" * 40,  # 81 bytes: byte 72 falls inside a two-byte character
    ],
    ids=["ascii-115-bytes", "utf8-split-at-72"],
)
def test_bcrypt_user_with_a_password_over_72_bytes_signs_in_with_the_full_password(
    browser: Browser, relying_party: RP, add_user: Callable[..., User], password: str
) -> None:
    assert len(password.encode()) > 72
    user = add_user("long.password", password, scheme="bcrypt")
    tokens = relying_party.sign_in(browser, user.credentials)
    assert tokens.id_claims is not None


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "\\\\evil.example",
        " https://evil.example/",
        "javascript:alert(1)",
        "http://localhost.evil.example/",
    ],
)
def test_next_pointing_elsewhere_is_never_followed(browser: Browser, alice: User, next_url: str) -> None:
    page = browser.login_page(next_url)
    assert "evil.example" not in page.form("/login").fields().get("next", "")
    step = browser.submit_login(page, *alice.credentials)
    assert isinstance(step, Page), f"the login sent the browser away: {step!r}"
    assert browser.at_bridge(step.url)
    assert step.status == 200


def test_next_smuggled_in_the_posted_form_is_not_followed_either(browser: Browser, alice: User) -> None:
    page = browser.login_page()
    form = page.form("/login")
    response = browser.request(
        "POST",
        browser.url("/login"),
        data=form.fields()
        | {"login": alice.login, "password": alice.password, "next": "https://evil.example/"},
    )
    assert response.status_code in (302, 303)
    assert browser.at_bridge(browser.url(response.headers["Location"])), response.headers["Location"]
    assert "evil.example" not in response.headers["Location"]


def test_a_typo_does_not_lose_the_way_back_to_the_relying_party(
    browser: Browser, relying_party: RP, alice: User
) -> None:
    request = relying_party.auth_request("openid")
    page = browser.open(request.url)
    assert isinstance(page, Page) and page.kind == "login"
    assert "Test RP test-rp" in page.text, "the login page says where the user is going"
    retry = browser.submit_login(page, alice.login, "typo")
    assert isinstance(retry, Page) and retry.kind == "login"
    assert retry.form("/login").fields()["login"] == alice.login, "the username is kept"
    consent = browser.submit_login(retry, *alice.credentials)
    assert isinstance(consent, Page) and consent.kind == "consent"
    callback = browser.consent(consent)
    assert isinstance(callback, Callback)
    relying_party.exchange(callback, request)


@pytest.mark.parametrize(
    "password",
    ["", " ", "correct horse battery staple\x00", "\x00"],
    ids=["empty", "space", "trailing-nul", "nul"],
)
def test_empty_and_nul_passwords_never_sign_in(
    browser: Browser, add_user: Callable[..., User], password: str
) -> None:
    user = add_user("edge.case", "correct horse battery staple")
    step = browser.login(user.login, password)
    assert isinstance(step, Page) and step.kind == "login"
    assert step.status in (200, 400)


def test_signing_in_issues_a_new_session_cookie_that_scripts_cannot_read(
    browser: Browser, alice: User, bob: User
) -> None:
    def session_cookie() -> Any:
        return next(c for c in browser.http.cookies if c.name == "idp_bridge_session")

    planted = "plantedbyanattacker0123456789abc"
    browser.login_page()
    jar_domain = next(c.domain for c in browser.http.cookies if c.name == "csrftoken")  # "localhost.local"
    browser.http.cookies.set("idp_bridge_session", planted, domain=jar_domain, path="/")
    first = browser.login(*alice.credentials)
    assert isinstance(first, Page) and first.kind != "login"
    cookie = session_cookie()
    assert cookie.value != planted, "a session id chosen by someone else must never be adopted"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "lax"

    # Someone else signs in on the same (shared) computer: nothing of Alice's session survives.
    second = browser.login(*bob.credentials)
    assert isinstance(second, Page) and second.kind != "login"
    assert session_cookie().value != cookie.value
