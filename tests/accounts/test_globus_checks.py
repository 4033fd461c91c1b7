"""Globus settings come from the environment and are checked at start-up, naming the variable and the fix."""

from __future__ import annotations

import pytest

from accounts.checks import globus_linking_deploy_check, globus_settings_check
from tests.globus_standin import BRIDGE_CLIENT_ID, BRIDGE_IDP
from tests.idp_bridge.test_checks import demo_portal, manage_check  # noqa: F401

GOOD = {
    "BRIDGE_GLOBUS_CLIENT_ID": BRIDGE_CLIENT_ID,
    "BRIDGE_GLOBUS_CLIENT_SECRET": "s" * 40,
    "BRIDGE_GLOBUS_IDP_ID": BRIDGE_IDP,
    "BRIDGE_GLOBUS_IDP_DOMAINS": ["portal.example.edu"],
}


@pytest.fixture
def globus_settings(settings):
    for name, value in GOOD.items():
        setattr(settings, name, value)
    return settings


def ids(messages):
    return [m.id for m in messages]


def test_good_globus_settings_pass(globus_settings):
    assert globus_settings_check(None) == []


def test_linking_off_is_not_an_error_but_deploy_says_so(settings):
    settings.BRIDGE_GLOBUS_CLIENT_ID = settings.BRIDGE_GLOBUS_CLIENT_SECRET = ""
    assert globus_settings_check(None) == []
    assert ids(globus_linking_deploy_check(None)) == ["accounts.I010"]


@pytest.mark.parametrize(
    ("name", "value", "expected", "named"),
    [
        ("BRIDGE_GLOBUS_CLIENT_ID", "globus", "accounts.E010", "BRIDGE_GLOBUS_CLIENT_ID"),
        ("BRIDGE_GLOBUS_CLIENT_ID", "", "accounts.E010", "BRIDGE_GLOBUS_CLIENT_ID"),
        ("BRIDGE_GLOBUS_CLIENT_SECRET", "", "accounts.E011", "BRIDGE_GLOBUS_CLIENT_SECRET"),
        ("BRIDGE_GLOBUS_IDP_ID", "", "accounts.E012", "BRIDGE_GLOBUS_IDP_ID"),
        ("BRIDGE_GLOBUS_IDP_ID", "portal", "accounts.E012", "BRIDGE_GLOBUS_IDP_ID"),
        ("BRIDGE_GLOBUS_IDP_DOMAINS", ["other.example.edu"], "accounts.E013", "BRIDGE_USERNAME_DOMAIN"),
        (
            "BRIDGE_GLOBUS_IDP_DOMAINS",
            ["portal.example.edu", "not a domain"],
            "accounts.E013",
            "not a domain",
        ),
    ],
)
def test_each_bad_setting_is_named_with_its_fix(globus_settings, name, value, expected, named):
    setattr(globus_settings, name, value)
    (message,) = globus_settings_check(None)
    assert message.id == expected
    assert named in message.msg + message.hint
    assert message.hint


def test_a_staging_globus_is_flagged_by_the_deploy_check(globus_settings, monkeypatch):
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", "https://auth.staging.example.org/")
    assert ids(globus_linking_deploy_check(None)) == ["accounts.W010"]


def test_settings_are_read_from_the_environment_at_start_up(demo_portal):  # noqa: F811
    result = manage_check(
        demo_portal,
        BRIDGE_GLOBUS_CLIENT_ID=BRIDGE_CLIENT_ID,
        BRIDGE_GLOBUS_IDP_ID=BRIDGE_IDP,
    )
    assert result.returncode != 0
    assert "accounts.E011" in result.stderr and "BRIDGE_GLOBUS_CLIENT_SECRET" in result.stderr
    ok = manage_check(
        demo_portal,
        BRIDGE_GLOBUS_CLIENT_ID=BRIDGE_CLIENT_ID,
        BRIDGE_GLOBUS_CLIENT_SECRET="s" * 40,
        BRIDGE_GLOBUS_IDP_ID=BRIDGE_IDP.upper(),
        BRIDGE_GLOBUS_IDP_DOMAINS="portal.example.edu, globus.portal.example.edu",
    )
    assert ok.returncode == 0, ok.stderr
