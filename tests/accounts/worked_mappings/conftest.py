"""Fixtures for the worked-mapping tests: the bridge pointed at a real product schema.

Each test module creates its product's schema in a throwaway database on a real server
(tests/accounts/legacy/legacy_servers.py: dropped afterwards, read through a SELECT-only role), and
``bridge(url, mapping_text)`` points the Django settings at it with the mapping as the doc prints
it, so that logins go through ``accounts.authentication.check_legacy_credentials`` end to end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from accounts.legacy import reset_user_source


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mariadb: needs a real MariaDB/MySQL server (skipped with a reason when none answers)"
    )


@pytest.fixture
def bridge(settings: pytest.FixtureRequest, tmp_path: Path, db: None) -> Iterator[Callable[[str, str], None]]:
    """``bridge(database_url, mapping_text)``: the bridge's legacy source, rebuilt from settings."""

    def configure(database_url: str, mapping_text: str) -> None:
        path = tmp_path / "mapping.toml"
        path.write_text(mapping_text, encoding="utf-8")
        settings.LEGACY_DATABASE_URL = database_url  # type: ignore[attr-defined]
        settings.LEGACY_MAPPING = str(path)  # type: ignore[attr-defined]
        reset_user_source()

    yield configure
    reset_user_source()
