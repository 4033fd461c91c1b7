"""Browser hardening: CSP without inline code, no framing, HSTS and secure cookies in production."""

from __future__ import annotations

import re
import shutil

import pytest
from django.urls import reverse

from tests.idp_bridge.test_checks import ROOT
from tests.ops.test_settings import settings_values

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "<style> element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_no_template_has_inline_script_or_style(template):
    """What makes a strict CSP possible without nonces: every page, the demo RP's included."""
    source = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(source)]
    assert not found, f"{template.name}: {found}"


def test_every_page_forbids_framing_inline_code_and_foreign_sources(client, db):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    # the JSON endpoints too: nothing there may be framed or run either
    assert (
        "frame-ancestors 'none'" in client.get("/.well-known/openid-configuration")["Content-Security-Policy"]
    )


def test_a_logo_on_another_https_host_is_the_only_foreign_image_allowed(settings):
    from idp_bridge.middleware import content_security_policy

    settings.BRIDGE_LOGO_URL = "https://www.example.edu/brand/logo.svg"
    assert "img-src 'self' data: https://www.example.edu;" in content_security_policy()
    settings.BRIDGE_LOGO_URL = "http://www.example.edu/logo.png"
    assert "www.example.edu" not in content_security_policy()


def test_production_cookies_are_secure_httponly_samesite_and_hsts_is_a_year(tmp_path):
    names = [
        "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE",
        "LANGUAGE_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "DEBUG",
    ]  # fmt: skip
    loaded = settings_values(tmp_path, names)
    assert loaded == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "LANGUAGE_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_SSL_REDIRECT": True,
        "DEBUG": False,
    }


@pytest.mark.e2e
@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromedriver is not installed")
def test_a_real_browser_reports_no_policy_violation_on_the_pages(bridge_url, portal, make_client):
    """Chromium applies the policy to the login, consent and account pages and the admin login."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    portal.add_user("ajones", "correct horse")
    rp = make_client()
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(
            f"{bridge_url}/authorize?response_type=code&client_id={rp.client_id}&scope=openid"
            f"&redirect_uri={rp.redirect_uri}&state=s&code_challenge={'a' * 43}&code_challenge_method=S256"
        )
        driver.find_element(By.NAME, "login").send_keys("ajones")
        driver.find_element(By.NAME, "password").send_keys("correct horse")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.NAME, "allow"))  # the consent page
        seen = [driver.title]
        for path in ("/account/", "/admin/login/"):
            driver.get(bridge_url + path)
            seen.append(driver.title)
        styled = driver.execute_script(
            "return getComputedStyle(document.body).fontFamily"
        )  # the stylesheet did load under the policy
        logs = driver.get_log("browser")
    finally:
        driver.quit()
    violations = [entry["message"] for entry in logs if "Content Security Policy" in entry["message"]]
    assert not violations, violations
    assert len(seen) == 3 and styled
