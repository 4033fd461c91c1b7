"""Fixtures for the legacy user-source tests: a portal table on SQLite and on a real PostgreSQL.

PostgreSQL: a throwaway database ``legacy_test_<hex>`` is created through
``postgresql://postgres@127.0.0.1:5432/postgres`` (or ``TEST_POSTGRES_URL``) and dropped at the
end of the session; when no server answers within 3 s, the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from legacy_portal import SLOW_VIEW_POSTGRES, SLOW_VIEW_SQLITE, Portal, fill
from psycopg import sql

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL database, dropped at the end of the session."""
    parts = urlsplit(ADMIN_URL)
    shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))  # without credentials
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(
            f"no PostgreSQL answered at {shown} within 3 s ({first}); set TEST_POSTGRES_URL to test it"
        )
    name = f"legacy_test_{secrets.token_hex(6)}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def portal(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The contract portal table on each backend (module-scoped: tests must not modify it)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("portal") / "portal.db"
        made = Portal(
            name="sqlite",
            url=f"sqlite:///{path}",  # path is absolute, so this is sqlite:////...
            admin=lambda: sqlite3.connect(path),
            driver_error=sqlite3.Error,
            unreachable_url=f"sqlite:///{path.parent / 'missing.db'}",
            placeholder="?",
        )
        fill(made, SLOW_VIEW_SQLITE)
    else:
        url = request.getfixturevalue("postgres_url")
        made = Portal(
            name="postgresql",
            url=url,
            admin=lambda: psycopg.connect(url, autocommit=True),
            driver_error=psycopg.Error,
            # A password that must never show up in a message.
            unreachable_url="postgresql://reader:s3cret-Pa55@127.0.0.1:1/portal",
            placeholder="%s",
        )
        fill(made, SLOW_VIEW_POSTGRES)
    yield made
    made.close_sources()


@pytest.fixture
def fresh(portal: Portal) -> Iterator[Portal]:
    """The module's portal, with the sources a test creates closed after it."""
    yield portal
    portal.close_sources()
