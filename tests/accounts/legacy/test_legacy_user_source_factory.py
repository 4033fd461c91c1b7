"""get_user_source(): built once from Django settings, each missing setting named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from accounts.legacy import get_user_source, reset_user_source
from accounts.legacy.demo import DEMO_MAPPING_PATH, create_demo_database
from accounts.legacy.mapping import LegacyMappingError
from accounts.legacy.sql import SqlUserSource
from idp_bridge.errors import ConfigurationError


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("factory") / "portal.db"
    create_demo_database(path)
    return path


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> Iterator[SimpleNamespace]:
    """Stand-in Django settings (these tests run without Django configured)."""
    fake = SimpleNamespace(LEGACY_DATABASE_URL=f"sqlite:///{demo_db}", LEGACY_MAPPING=DEMO_MAPPING_PATH)
    monkeypatch.setattr("django.conf.settings", fake)
    reset_user_source()
    yield fake
    reset_user_source()


def test_built_once_and_cached(settings: SimpleNamespace) -> None:
    source = get_user_source()
    assert isinstance(source, SqlUserSource)
    assert get_user_source() is source
    alice = source.get_by_login("alice")
    assert alice is not None and alice.legacy_id == "1"
    reset_user_source()
    assert get_user_source() is not source


def test_timeouts_are_read(settings: SimpleNamespace) -> None:
    settings.LEGACY_CONNECT_TIMEOUT = 2
    settings.LEGACY_STATEMENT_TIMEOUT = 0.5
    source = get_user_source()
    assert isinstance(source, SqlUserSource)
    assert source._dialect.connect_timeout == 2.0
    assert source._dialect.statement_timeout == 0.5


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("LEGACY_DATABASE_URL", None, "LEGACY_DATABASE_URL is not set"),
        ("LEGACY_DATABASE_URL", "", "LEGACY_DATABASE_URL is not set"),
        (
            "LEGACY_DATABASE_URL",
            "oracle://u:hunter2@h/db",
            "LEGACY_DATABASE_URL: unsupported database URL scheme",
        ),
        ("LEGACY_MAPPING", None, "LEGACY_MAPPING is not set"),
        ("LEGACY_CONNECT_TIMEOUT", "5", "LEGACY_CONNECT_TIMEOUT must be a number"),
        ("LEGACY_STATEMENT_TIMEOUT", 0, "LEGACY_STATEMENT_TIMEOUT must be a number"),
    ],
)
def test_bad_settings_are_named(
    settings: SimpleNamespace, setting: str, value: object, expected: str
) -> None:
    if value is None:
        delattr(settings, setting)
    else:
        setattr(settings, setting, value)
    with pytest.raises(ConfigurationError, match=expected) as caught:
        get_user_source()
    assert "hunter2" not in str(caught.value)


def test_bad_mapping_file_is_a_mapping_error(settings: SimpleNamespace, tmp_path: Path) -> None:
    settings.LEGACY_MAPPING = tmp_path / "missing.toml"
    with pytest.raises(LegacyMappingError, match=r"missing\.toml: mapping file not found"):
        get_user_source()


def test_a_mysql_url_builds_a_source_without_connecting(settings: SimpleNamespace) -> None:
    settings.LEGACY_DATABASE_URL = "mysql://reader:hunter2@127.0.0.1:1/portal"
    source = get_user_source()
    assert isinstance(source, SqlUserSource)
    assert source.description == "MySQL/MariaDB reader@127.0.0.1:1/portal"
    assert "hunter2" not in repr(source)
