"""The people-facing pages in a real browser: a whole sign-in through a relying party, the error
pages, keyboard use and branding, each page checked with axe-core (WCAG 2.1 AA) and screenshotted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from accounts.legacy import reset_user_source
from tests.browser.conftest import Pages
from tests.conftest import Portal
from tests.globus_standin import BRIDGE_IDP, GLOBUSID_IDP, GlobusAuthStandIn

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(portal: Portal) -> tuple[str, str]:
    portal.add_user("alice", PASSWORD, email="alice@example.org", first_name="Alice", last_name="Smith")
    return "alice", PASSWORD


@pytest.fixture
def demo_rp(bridge_url: str, db: None) -> str:
    """The built-in demo relying party, registered as `make run` registers it."""
    from idp_bridge.management.commands.demo_setup import DEMO_CLIENT_ID, demo_client_file
    from oidc.clients import ClientRegistration, register_client

    secret = "browser-test-demo-secret-" + "d" * 30
    demo_client_file().write_text(json.dumps({"client_id": DEMO_CLIENT_ID, "client_secret": secret}))
    register_client(
        ClientRegistration(
            client_id=DEMO_CLIENT_ID,
            name="Demo relying party",
            redirect_uris=[f"{bridge_url}/demo-rp/callback"],
            post_logout_redirect_uris=[f"{bridge_url}/demo-rp/"],
            client_secret=secret,
        )
    )
    return f"{bridge_url}/demo-rp/"


def fill(pages: Pages, field_id: str, value: str) -> None:
    element = pages.find(f"#{field_id}")
    element.clear()
    element.send_keys(value)


def click(pages: Pages, selector: str) -> None:
    """Click something that loads a new page."""
    pages.navigate(lambda: pages.find(selector).click())


def test_a_whole_sign_in_through_a_relying_party(pages: Pages, demo_rp: str, alice: tuple[str, str]) -> None:
    pages.open(demo_rp)
    click(pages, "a.button.primary")  # "Sign in" at the relying party

    assert "to continue to Demo relying party" in pages.text(), "the login page names the application"
    pages.check("login")

    fill(pages, "id_login", alice[0])
    fill(pages, "id_password", "not the password")
    click(pages, "button[type=submit]")
    alert = pages.driver.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.text == "The username or password is incorrect."
    password = pages.driver.find_element(By.ID, "id_password")
    assert password.get_attribute("aria-describedby") == "login-error", (
        "the error is announced with the field"
    )
    assert pages.driver.switch_to.active_element == password, "focus goes back to the password"
    assert pages.driver.find_element(By.ID, "id_login").get_attribute("value") == alice[0]
    pages.check("login-error")

    fill(pages, "id_password", alice[1])
    pages.navigate(lambda: password.send_keys(Keys.ENTER))  # the keyboard submits the form
    text = pages.text()
    assert "Allow Demo relying party to sign you in?" in text
    assert "alice@portal.example.edu" in text and "alice@example.org" in text, "the claims to be released"
    assert pages.driver.find_element(By.ID, "remember").is_selected(), "remember my choice is the default"
    pages.check("consent")

    click(pages, "button[name=allow]")
    text = pages.text()
    assert "Signed in" in text, text[:500]
    assert '"preferred_username": "alice@portal.example.edu"' in text, "the RP validated and shows the claims"
    pages.check("relying-party-result")

    pages.open("/account/")
    text = pages.text()
    assert "Demo relying party" in text, "the consent is listed"
    assert "127.0.0.1" in text, "the sign-in just made is listed with its address"
    pages.check("account")

    pages.open(demo_rp)  # sign in again: remembered consent, no question asked
    click(pages, "a.button.primary")
    assert "Signed in" in pages.text()
    pages.navigate(pages.driver.find_element(By.LINK_TEXT, "Sign out (RP-initiated logout)").click)
    if pages.driver.find_elements(By.CSS_SELECTOR, "form[action$='/logout']"):
        pages.check("logout-confirm")
        click(pages, "button[name=allow]")
    assert "Demo relying party" in pages.driver.title, "logout returned to the relying party"
    pages.open("/account/")
    assert pages.driver.find_elements(By.ID, "id_password"), "signed out: the account page asks to sign in"

    fill(pages, "id_login", alice[0])
    fill(pages, "id_password", alice[1])
    click(pages, "button[type=submit]")
    pages.open("/logout")  # signing out at the bridge itself asks first
    assert "Sign out of the sign-in service?" in pages.text()
    pages.check("logout-confirm")
    click(pages, "button[name=allow]")
    assert "You are signed out" in pages.text()
    pages.check("logged-out")


def test_error_pages_say_what_happened_and_what_to_do(
    pages: Pages, demo_rp: str, alice: tuple[str, str], settings: Any
) -> None:
    pages.open(
        "/authorize?response_type=code&scope=openid&client_id=no-such-app&redirect_uri=https://x.example/cb"
    )
    assert "not registered with this sign-in service" in pages.text()
    pages.check("error-unknown-client")

    callback = f"{demo_rp}callback"
    pages.open(f"/authorize?response_type=code&scope=openid&client_id=demo-rp&redirect_uri={callback}x")
    text = pages.text()
    assert "an address it has not registered here" in text
    assert "x.example" not in pages.driver.current_url
    pages.check("error-redirect-uri")

    settings.BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES = 1  # locked at the second failure, no delays before
    settings.BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES = 2
    settings.BRIDGE_LOGIN_DELAY_SECONDS = 0
    pages.open("/login")
    for password in ("wrong once", "wrong twice", "right or wrong, not checked"):
        fill(pages, "id_login", "someone")  # unknown usernames are locked exactly like known ones
        fill(pages, "id_password", password)
        click(pages, "button[type=submit]")
    text = pages.text()
    assert "too many failed sign-in attempts for this username" in text
    assert "Try again in about 15 minutes" in text and "incorrect" not in text
    pages.check("locked")

    settings.LEGACY_DATABASE_URL = "sqlite:////nonexistent/dir/portal.db"
    reset_user_source()
    try:
        pages.open("/login")
        fill(pages, "id_login", alice[0])
        fill(pages, "id_password", alice[1])
        click(pages, "button[type=submit]")
        assert "The account database is unavailable, try again shortly." in pages.text()
        assert "incorrect" not in pages.text(), "an outage never looks like a wrong password"
        pages.check("unavailable")
    finally:
        reset_user_source()

    pages.open("/no-such-page")
    assert "This page does not exist" in pages.text()
    pages.check("not-found")


def sign_in(pages: Pages, login: str, password: str) -> None:
    pages.open("/login")
    fill(pages, "id_login", login)
    fill(pages, "id_password", password)
    click(pages, "button[type=submit]")


def test_linking_a_globus_identity(
    pages: Pages, alice: tuple[str, str], globus_auth: GlobusAuthStandIn
) -> None:
    sign_in(pages, *alice)
    pages.open("/account/globus/")
    assert "alice@portal.example.edu" in pages.text()
    pages.check("globus-link")

    globus_auth.auto_login = globus_auth.add_identity("alice@globusid.org", GLOBUSID_IDP).id
    click(pages, "button.primary")  # to Globus, which signs in with another organization's identity
    problem = pages.driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "has no identity from" in problem, "a refused link says why"
    pages.check("globus-link-refused")

    ours = globus_auth.add_identity("alice@portal.example.edu", BRIDGE_IDP)
    globus_auth.auto_login = ours.id
    click(pages, "button.primary")  # "Try again with ...": now with this IdP's identity
    assert "is now linked" in pages.text() and ours.id in pages.text()
    pages.check("globus-linked")


def test_the_keyboard_reaches_everything_in_reading_order(pages: Pages, settings: Any) -> None:
    settings.BRIDGE_FORGOT_PASSWORD_URL = "https://portal.example.edu/reset"
    pages.open("/login")
    driver = pages.driver
    username = driver.switch_to.active_element
    assert username.get_attribute("id") == "id_login", "the username field has focus on arrival"
    order = []
    for _ in range(3):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        order.append(active.get_attribute("id") or active.text)
    assert order == ["id_password", "Sign in", "Forgot your password?"]

    username.send_keys(Keys.SHIFT, Keys.TAB)
    skip = driver.switch_to.active_element
    assert skip.text == "Skip to main content" and skip.is_displayed(), "the skip link shows when focused"
    skip.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "main"


def test_campus_branding_changes_every_page_without_a_template(pages: Pages, settings: Any) -> None:
    settings.BRIDGE_INSTITUTION_NAME = "Example State University"
    settings.BRIDGE_LOGO_URL = "/static/idp_bridge/example-logo.svg"
    settings.BRIDGE_COLOR_PRIMARY = "#6a1b4d"
    settings.BRIDGE_SUPPORT_EMAIL = "research-help@example.edu"
    settings.BRIDGE_SUPPORT_URL = "https://help.example.edu/sign-in"
    settings.BRIDGE_FOOTER_LINKS = [
        ("Privacy notice", "https://example.edu/privacy"),
        ("Accessibility", "https://example.edu/accessibility"),
    ]
    settings.BRIDGE_FORGOT_PASSWORD_URL = "https://portal.example.edu/reset"
    pages.open("/login")
    header = pages.driver.find_element(By.CSS_SELECTOR, ".site-header")
    assert header.value_of_css_property("background-color") == "rgba(106, 27, 77, 1)"
    assert "Example State University" in header.text
    logo = pages.driver.find_element(By.CSS_SELECTOR, "img.logo")
    assert pages.driver.execute_script("return arguments[0].naturalWidth", logo) > 0, "the logo loads"
    footer = pages.driver.find_element(By.CSS_SELECTOR, "footer")
    assert [a.text for a in footer.find_elements(By.CSS_SELECTOR, "nav a")] == [
        "Privacy notice",
        "Accessibility",
    ]
    assert "research-help@example.edu" in footer.text
    forgot = pages.driver.find_element(By.LINK_TEXT, "Forgot your password?")
    assert forgot.get_attribute("href") == "https://portal.example.edu/reset"
    pages.check("login-branded")
