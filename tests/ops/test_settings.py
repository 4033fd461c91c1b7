"""Production settings come from the environment only, and a bad value stops the start by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.idp_bridge.test_checks import GOOD_ENV, ROOT, manage_check


@pytest.fixture
def demo_portal(tmp_path):
    from accounts.legacy.demo import create_demo_database

    create_demo_database(tmp_path / "portal.db")
    return tmp_path


def settings_values(tmp_path, names: list[str], **overrides: str) -> dict:
    """Settings ``names`` as gunicorn would load them, with this environment and nothing else."""
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
    env |= overrides
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def production_settings(tmp_path, **overrides: str) -> dict:
    loaded = settings_values(
        tmp_path, ["DATABASES", "CACHES", "DEBUG", "MIDDLEWARE", "BRIDGE_LOG_FORMAT"], **overrides
    )
    return {
        "db": loaded["DATABASES"]["default"],
        "caches": loaded["CACHES"],
        "debug": loaded["DEBUG"],
        "middleware": loaded["MIDDLEWARE"],
        "log_format": loaded["BRIDGE_LOG_FORMAT"],
    }


def test_postgresql_gets_a_connection_pool_sized_by_the_environment(tmp_path):
    loaded = production_settings(
        tmp_path,
        DATABASE_URL="postgresql://bridge:pw@db.example.edu:5432/idp_bridge",
        BRIDGE_DB_POOL_SIZE="5",
    )
    db = loaded["db"]
    assert db["ENGINE"] == "idp_bridge.postgresql"  # Django's, with the idle-aware pool check
    assert db["CONN_HEALTH_CHECKS"] is False  # the backend checks, only after idleness
    assert db["OPTIONS"]["pool"]["max_size"] == 5 and db["OPTIONS"]["connect_timeout"] == 5
    assert db["OPTIONS"]["server_side_binding"] is True and db["OPTIONS"]["prepare_threshold"] == 5
    assert db["CONN_MAX_AGE"] == 0  # the pool holds connections, Django must not
    assert loaded["debug"] is False


def test_prepared_statements_can_be_turned_off_for_a_pgbouncer(tmp_path):
    db = production_settings(
        tmp_path,
        DATABASE_URL="postgresql://bridge@db.example.edu/idp_bridge",
        BRIDGE_DB_PREPARED_STATEMENTS="false",
    )["db"]
    assert "server_side_binding" not in db["OPTIONS"] and "prepare_threshold" not in db["OPTIONS"]
    assert db["OPTIONS"]["pool"]["max_size"] == 8


def test_pooling_can_be_turned_off(tmp_path):
    db = production_settings(
        tmp_path, DATABASE_URL="postgresql://bridge@db.example.edu/idp_bridge", BRIDGE_DB_POOL_SIZE="0"
    )["db"]
    assert "pool" not in db["OPTIONS"] and db["CONN_MAX_AGE"] == 60
    # Without a pool, Django's own backend and its health check of persistent connections.
    assert db["ENGINE"] == "django.db.backends.postgresql" and db["CONN_HEALTH_CHECKS"] is True


def test_sessions_and_cache_are_shared_through_the_bridge_database(tmp_path):
    loaded = production_settings(tmp_path)
    assert loaded["caches"]["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert loaded["middleware"][:3] == [
        "idp_bridge.middleware.RequestContextMiddleware",
        "idp_bridge.middleware.OpsEndpointsMiddleware",
        "idp_bridge.metrics.MetricsMiddleware",
    ]


def test_the_test_suite_itself_runs_on_the_pool_in_the_postgresql_pass(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the SQLite pass")
    assert connection.settings_dict["OPTIONS"]["pool"]["max_size"] >= 1
    assert connection.pool is not None


BAD = {
    "BRIDGE_METRICS_TOKEN": ("short", "idp_bridge.E007"),
    "BRIDGE_METRICS_ALLOW": ("10.0.0.0/8 the-monitoring-host", "idp_bridge.E002"),
    "BRIDGE_TRUSTED_PROXIES": ("nginx", "idp_bridge.E002"),
    "BRIDGE_LOG_FORMAT": ("xml", "idp_bridge.E002"),
    "BRIDGE_LOG_LEVEL": ("chatty", "idp_bridge.E002"),
    "BRIDGE_DB_POOL_SIZE": ("-1", "idp_bridge.E002"),
    "BRIDGE_READINESS_TIMEOUT": ("soon", "idp_bridge.E002"),
}


def test_every_bad_operations_setting_is_named_at_once(demo_portal):
    result = manage_check(demo_portal, **{name: value for name, (value, _) in BAD.items()})
    assert result.returncode != 0
    messages = result.stderr.split("\n")
    for name, (_, check_id) in BAD.items():
        assert any(check_id in line and name in line for line in messages), (name, result.stderr)
    assert result.stderr.count("HINT") >= len(BAD)


def test_good_operations_settings_pass(demo_portal):
    result = manage_check(
        demo_portal,
        BRIDGE_METRICS_TOKEN="t" * 40,
        BRIDGE_METRICS_ALLOW="10.20.30.0/24, 192.0.2.7",
        BRIDGE_TRUSTED_PROXIES="127.0.0.1",
        BRIDGE_LOG_FORMAT="JSON",
        BRIDGE_LOG_LEVEL="warning",
    )
    assert result.returncode == 0, result.stderr
