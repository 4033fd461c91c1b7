"""Fixtures for the legacy user-source tests: the contract portal on SQLite, PostgreSQL and MariaDB.

The servers' throwaway databases come from legacy_servers.py: created for the session, dropped at
the end, and read by the sources under test through a role that may only SELECT, so a write
attempted by a source fails the test. A server that does not answer within 3 s skips its cases
with the reason (CI runs all three).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pymysql
import pytest
from legacy_portal import SLOW_VIEW_MARIADB, SLOW_VIEW_POSTGRES, SLOW_VIEW_SQLITE, Portal, fill

from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, mariadb_database, postgres_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mariadb: needs a real MariaDB/MySQL server (skipped with a reason when none answers)"
    )


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[ThrowawayDatabase]:
    with postgres_database("legacy_test") as db:
        yield db


@pytest.fixture(scope="session")
def mariadb_db() -> Iterator[ThrowawayDatabase]:
    with mariadb_database("legacy_test") as db:
        yield db


@pytest.fixture(scope="session")
def postgres_url(postgres_db: ThrowawayDatabase) -> str:
    """The admin URL of the throwaway PostgreSQL database (kept for older tests)."""
    return postgres_db.admin_url


# The "mariadb" marker is registered by pytest_configure above, which runs only after this module
# is imported: so the MariaDB cases are selected by id (-k mariadb) rather than marked here.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"]


@pytest.fixture(scope="module", params=BACKENDS)
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
            admin_url=f"sqlite:///{path}",
        )
        fill(made, SLOW_VIEW_SQLITE)
    else:
        db: ThrowawayDatabase = request.getfixturevalue(
            "postgres_db" if request.param == "postgresql" else "mariadb_db"
        )
        made = Portal(
            name=request.param,
            url=db.reader_url,
            admin=db.admin,
            driver_error=psycopg.Error if request.param == "postgresql" else pymysql.err.MySQLError,
            # A password that must never show up in a message.
            unreachable_url=(
                "postgresql://reader:s3cret-Pa55@127.0.0.1:1/portal"
                if request.param == "postgresql"
                else "mysql://reader:s3cret-Pa55@127.0.0.1:1/portal"
            ),
            placeholder="%s",
            admin_url=db.admin_url,
        )
        made.execute("DROP VIEW IF EXISTS slow_users")
        made.execute("DROP TABLE IF EXISTS portal_users")
        fill(made, SLOW_VIEW_POSTGRES if request.param == "postgresql" else SLOW_VIEW_MARIADB)
    yield made
    made.close_sources()


@pytest.fixture
def fresh(portal: Portal) -> Iterator[Portal]:
    """The module's portal, with the sources a test creates closed after it."""
    yield portal
    portal.close_sources()
