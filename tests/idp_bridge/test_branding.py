"""Campus branding from settings: bad values are caught at start-up, good ones reach every page."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from idp_bridge import branding, env
from idp_bridge.checks import branding_check

LOGIN = reverse("accounts:login")


@pytest.fixture
def fresh_problems(monkeypatch: pytest.MonkeyPatch) -> env.EnvProblems:
    found = env.EnvProblems()
    monkeypatch.setattr(env, "problems", found)
    return found


@pytest.mark.parametrize(
    ("raw", "expected"), [("#1F4E8C", "#1f4e8c"), ("#abc", "#aabbcc"), (" #000000 ", "#000000")]
)
def test_colours_are_hex_and_normalised(monkeypatch, fresh_problems, raw, expected):
    monkeypatch.setenv("BRIDGE_COLOR_PRIMARY", raw)
    assert env.colour("BRIDGE_COLOR_PRIMARY", "#1f4e8c") == expected
    assert fresh_problems.invalid == []


@pytest.mark.parametrize("raw", ["blue", "1f4e8c", "#12345", "#ggg", "red;}body{display:none"])
def test_a_colour_that_is_not_hex_is_a_startup_error(monkeypatch, fresh_problems, raw):
    monkeypatch.setenv("BRIDGE_COLOR_PRIMARY", raw)
    assert env.colour("BRIDGE_COLOR_PRIMARY", "#1f4e8c") == "#1f4e8c"
    [(name, what)] = fresh_problems.invalid
    assert name == "BRIDGE_COLOR_PRIMARY" and "hex colour" in what


def test_footer_links_are_label_equals_url_separated_by_bars(monkeypatch, fresh_problems):
    monkeypatch.setenv(
        "BRIDGE_FOOTER_LINKS", "Privacy = https://example.edu/privacy?a=b | Accessibility=/a11y |"
    )
    assert env.links("BRIDGE_FOOTER_LINKS") == [
        ("Privacy", "https://example.edu/privacy?a=b"),
        ("Accessibility", "/a11y"),
    ]
    monkeypatch.setenv("BRIDGE_FOOTER_LINKS", "https://example.edu/privacy|Terms=")
    assert env.links("BRIDGE_FOOTER_LINKS") == []
    assert [name for name, _what in fresh_problems.invalid] == ["BRIDGE_FOOTER_LINKS"] * 2


def test_contrast_ratio_matches_wcag_known_answers():
    assert branding.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert branding.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    assert branding.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the AA edge
    assert branding.contrast_ratio("#1f4e8c", "#ffffff") > 4.5  # the default passes


def brand(**values: object) -> branding.Branding:
    defaults: dict[str, object] = {
        "institution_name": "Example",
        "logo_url": "",
        "primary": "#1f4e8c",
        "primary_text": "#ffffff",
        "support_email": "",
        "support_url": "",
        "footer_links": (),
        "forgot_password_url": "",
    }
    return branding.Branding(**(defaults | values))  # type: ignore[arg-type]


def ids(found: list) -> list[str]:
    return [message.id for message in found]


def test_the_stylesheet_url_changes_with_the_colours():
    assert brand().stylesheet_version != brand(primary="#6a1b4d").stylesheet_version
    assert brand().stylesheet_version == brand(institution_name="Other").stylesheet_version


def test_the_defaults_have_no_problems():
    assert branding.problems(brand(), https_required=True) == []


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "//evil.example/reset", "data:text/html,x", "portal.example.edu/reset"]
)
def test_links_that_could_deceive_are_refused_everywhere(url):
    found = branding.problems(brand(forgot_password_url=url), https_required=False)
    assert ids(found) == ["branding.E001"]
    assert "BRIDGE_FORGOT_PASSWORD_URL" in found[0].msg


def test_plain_http_links_are_refused_on_an_https_service_only():
    http = brand(
        logo_url="http://portal.example.edu/logo.png",
        support_url="http://help.example.edu/",
        footer_links=(("Privacy", "http://example.edu/privacy"),),
    )
    found = branding.problems(http, https_required=True)
    assert ids(found) == ["branding.E001"] * 3
    assert {m.msg.split()[0] for m in found} == {
        "BRIDGE_LOGO_URL",
        "BRIDGE_SUPPORT_URL",
        "BRIDGE_FOOTER_LINKS",
    }
    assert branding.problems(http, https_required=False) == []  # development on loopback
    fine = brand(forgot_password_url="https://portal.example.edu/reset", logo_url="/static/logo.svg")
    assert branding.problems(fine, https_required=True) == []


def test_a_support_email_must_be_an_address():
    assert ids(branding.problems(brand(support_email="help desk"), https_required=True)) == ["branding.E002"]
    assert branding.problems(brand(support_email="help@example.edu"), https_required=True) == []


def test_colours_under_aa_contrast_warn_and_say_which_pair():
    found = branding.problems(brand(primary="#ffd166"), https_required=True)  # yellow, white text
    assert ids(found) == ["branding.W001", "branding.W001"]
    assert "BRIDGE_COLOR_PRIMARY_TEXT" in found[0].msg and "4.5:1" in found[0].msg
    dark_text = branding.problems(brand(primary="#ffd166", primary_text="#1b1b1b"), https_required=True)
    assert ids(dark_text) == ["branding.W001"], "yellow links on the white page still fail"
    assert "page background" in dark_text[0].msg


def test_the_checks_run_with_the_settings(settings, tmp_path):
    settings.BRIDGE_ISSUER = "https://idp.example.edu"
    settings.BRIDGE_FORGOT_PASSWORD_URL = "http://portal.example.edu/reset"
    settings.BRIDGE_TEMPLATE_DIR = str(tmp_path / "missing")
    assert ids(branding_check(None)) == ["branding.E001", "branding.E003"]
    with pytest.raises(SystemCheckError, match="BRIDGE_FORGOT_PASSWORD_URL"):
        call_command("check")


@pytest.mark.django_db
def test_branding_reaches_the_page(client, settings):
    settings.BRIDGE_INSTITUTION_NAME = "Example State University"
    settings.BRIDGE_COLOR_PRIMARY = "#6a1b4d"
    settings.BRIDGE_SUPPORT_EMAIL = "help@example.edu"
    settings.BRIDGE_FOOTER_LINKS = [("Privacy notice", "https://example.edu/privacy")]
    settings.BRIDGE_FORGOT_PASSWORD_URL = "https://portal.example.edu/reset"
    page = client.get(LOGIN).content.decode()
    stylesheet = re.search(r'<link rel="stylesheet" href="(/branding\.css\?v=\w+)">', page)[1]
    css = client.get(stylesheet)
    assert css["Content-Type"].startswith("text/css")
    assert "--accent: #6a1b4d;" in css.content.decode()
    assert "Sign in · Example State University" in page
    assert '<a href="https://example.edu/privacy">Privacy notice</a>' in page
    assert 'href="mailto:help@example.edu"' in page
    assert 'href="https://portal.example.edu/reset"' in page


@pytest.mark.django_db
def test_one_overridden_block_rebrands_every_page(client, settings, tmp_path):
    (tmp_path / "base.html").write_text(
        '{% extends "bridge/layout.html" %}'
        "{% block footer_text %}Operated by Research Computing, Example State University{% endblock %}"
    )
    settings.BRIDGE_TEMPLATE_DIR = str(tmp_path)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    for url in (LOGIN, reverse("accounts:logged_out")):
        page = client.get(url).content.decode()
        assert "Operated by Research Computing, Example State University" in page
        assert "Sign-in service for" not in page
        assert 'name="password"' in page or "You are signed out" in page, "the rest of the page is intact"
