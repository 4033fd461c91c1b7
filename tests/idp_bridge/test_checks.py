"""Misconfiguration is caught at start-up by a system check that names the setting and the fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_ENV = {
    "DJANGO_SECRET_KEY": "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "BRIDGE_ISSUER": "https://idp.example.edu",
    "BRIDGE_USERNAME_DOMAIN": "portal.example.edu",
    "BRIDGE_KEY_ENCRYPTION_SECRET": "k" * 40,
    "LEGACY_MAPPING": str(ROOT / "accounts" / "legacy" / "demo_mapping.toml"),
}


def manage_check(tmp_path: Path, *args: str, **overrides: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGE_", "LEGACY_", "DJANGO_", "DATABASE_"))
    }
    env |= GOOD_ENV | {
        "BRIDGE_STATE_DIR": str(tmp_path),
        "LEGACY_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "DJANGO_SETTINGS_MODULE": "idp_bridge.settings",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def demo_portal(tmp_path):
    from accounts.legacy.demo import create_demo_database

    create_demo_database(tmp_path / "portal.db")
    return tmp_path


def test_good_configuration_passes(demo_portal):
    result = manage_check(demo_portal)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "variable",
    [
        "DJANGO_SECRET_KEY",
        "BRIDGE_ISSUER",
        "BRIDGE_USERNAME_DOMAIN",
        "BRIDGE_KEY_ENCRYPTION_SECRET",
        "LEGACY_DATABASE_URL",
        "LEGACY_MAPPING",
    ],
)
def test_each_missing_required_setting_is_named_with_a_hint(demo_portal, variable):
    result = manage_check(demo_portal, **{variable: None})
    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr
    assert "idp_bridge.E001" in result.stderr and "HINT" in result.stderr


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"BRIDGE_ISSUER": "http://idp.example.edu"}, "idp_bridge.E003"),
        ({"BRIDGE_ISSUER": "https://idp.example.edu/?x=1"}, "idp_bridge.E003"),
        ({"BRIDGE_USERNAME_DOMAIN": "@portal"}, "idp_bridge.E004"),
        ({"BRIDGE_KEY_ENCRYPTION_SECRET": "short"}, "idp_bridge.E005"),
        ({"BRIDGE_DEMO": "true"}, "idp_bridge.E006"),
        ({"LEGACY_CONNECT_TIMEOUT": "soon"}, "idp_bridge.E002"),
        ({"BRIDGE_EMAIL_VERIFIED": "maybe"}, "idp_bridge.E002"),
        ({"BRIDGE_DUMMY_HASH": "not-a-hash"}, "accounts.E003"),
        ({"BRIDGE_LOGIN_LOCKOUT_SECONDS": "a while"}, "idp_bridge.E002"),
        ({"BRIDGE_LOGIN_MAX_DELAY_SECONDS": "0.5", "BRIDGE_LOGIN_DELAY_SECONDS": "2"}, "accounts.E020"),
    ],
)
def test_bad_values_are_named(demo_portal, overrides, expected):
    result = manage_check(demo_portal, **overrides)
    assert result.returncode != 0 and expected in result.stderr
    assert next(iter(overrides)) in result.stderr


def test_mapping_problems_name_the_column(demo_portal, tmp_path):
    mapping = tmp_path / "bad.toml"
    source = (ROOT / "accounts" / "legacy" / "demo_mapping.toml").read_text()
    mapping.write_text(source.replace('email = "email"', 'email = "mail_address"'))
    result = manage_check(demo_portal, LEGACY_MAPPING=str(mapping))
    assert result.returncode != 0 and "mail_address" in result.stderr and "accounts.E002" in result.stderr


def test_unreachable_legacy_database_is_a_warning_not_a_refusal_to_start(tmp_path):
    result = manage_check(tmp_path, LEGACY_DATABASE_URL="postgresql://reader@127.0.0.1:1/portal")
    assert result.returncode == 0, result.stderr
    assert "accounts.W001" in result.stderr


def test_production_settings_pass_the_deploy_checks(demo_portal):
    result = manage_check(demo_portal, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_a_site_salt_no_scheme_uses_is_named_not_silently_ignored(demo_portal, tmp_path):
    mapping = tmp_path / "peppered.toml"
    source = (ROOT / "accounts" / "legacy" / "demo_mapping.toml").read_text()
    mapping.write_text(source + '\n[password]\nscheme = "bcrypt"\nsite_salt_env = "DEVISE_PEPPER"\n')
    result = manage_check(demo_portal, LEGACY_MAPPING=str(mapping), DEVISE_PEPPER="pepper-value")
    assert result.returncode != 0 and "accounts.E004" in result.stderr and "bcrypt" in result.stderr
    assert "pepper-value" not in result.stderr


@pytest.mark.parametrize(("threads", "warned"), [("12", True), ("8", False), ("4", False)])
def test_more_gunicorn_threads_than_pooled_connections_is_named(demo_portal, threads, warned):
    result = manage_check(
        demo_portal,
        DATABASE_URL="postgresql://bridge@db.example.edu/idp_bridge",  # not contacted by `check`
        BRIDGE_DB_POOL_SIZE="8",
        GUNICORN_THREADS=threads,
    )
    assert result.returncode == 0, result.stderr  # a warning: the bridge still starts
    named = "idp_bridge.W001" in result.stderr and f"GUNICORN_THREADS={threads}" in result.stderr
    assert named is warned, result.stderr
    if warned:
        assert "BRIDGE_DB_POOL_SIZE to at least 12" in result.stderr


def test_no_pool_means_no_pool_warning(demo_portal):
    result = manage_check(demo_portal, GUNICORN_THREADS="32")  # SQLite: no pool
    assert "idp_bridge.W001" not in result.stderr
