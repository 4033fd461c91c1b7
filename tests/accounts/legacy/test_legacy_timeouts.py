"""The legacy source's timeouts against real servers that stop answering.

A PostgreSQL server that hangs (SIGSTOP: the kernel still acknowledges every packet) never fires its
own statement_timeout, so a held connection would wait for ever without the client's deadline
(accounts.legacy.dialects.client_deadline). A slow statement on a live server is cut by the
server's statement timeout (PostgreSQL) or max_statement_time (MariaDB).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from accounts.legacy import LegacySourceUnavailable
from accounts.legacy.demo import PORTAL_USERS_DDL
from accounts.legacy.dialects import CLIENT_DEADLINE_GRACE_SECONDS
from accounts.legacy.mapping import load_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import mariadb_database
from tests.private_postgres import PrivatePostgres, private_postgres

MAPPING = "tests/fixtures/portal_mapping.toml"
CONNECT, STATEMENT = 2.0, 1.0
MARGIN = 1.5


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        with psycopg.connect(server.url, autocommit=True) as db:
            db.execute(PORTAL_USERS_DDL.replace("uid INTEGER PRIMARY KEY", "uid SERIAL PRIMARY KEY"))
            db.execute("INSERT INTO portal_users (login, pass_hash, status) VALUES ('ajones', 'x', 1)")
        yield server


@pytest.fixture
def source() -> Iterator[Callable[[str], SqlUserSource]]:
    made: list[SqlUserSource] = []

    def make(url: str) -> SqlUserSource:
        made.append(
            SqlUserSource(url, load_mapping(MAPPING), connect_timeout=CONNECT, statement_timeout=STATEMENT)
        )
        return made[-1]

    yield make
    for users in made:
        users.close()


def timed_lookup(users: SqlUserSource) -> tuple[float, Exception | None]:
    start = time.monotonic()
    try:
        users.get_by_login("ajones")
    except LegacySourceUnavailable as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


def test_a_hung_server_is_given_up_on_a_held_connection_and_a_new_one(server, source):
    held = source(server.url)
    assert held.get_by_login("ajones") is not None  # the connection is open and reused
    server.freeze()
    try:
        seconds, error = timed_lookup(held)
        assert isinstance(error, LegacySourceUnavailable) and "the server hung" in str(error)
        assert seconds < STATEMENT + CLIENT_DEADLINE_GRACE_SECONDS + MARGIN, seconds
        seconds, error = timed_lookup(source(server.url))
        assert isinstance(error, LegacySourceUnavailable) and seconds < CONNECT + MARGIN, seconds
    finally:
        server.thaw()
    user = held.get_by_login("ajones")  # the cut connection is replaced: nothing stays broken
    assert user is not None and user.username == "ajones"


def test_a_stopped_server_is_refused_at_once_and_found_again_after_a_restart(server, source):
    held = source(server.url)
    assert held.get_by_login("ajones") is not None
    server.stop()
    try:
        seconds, error = timed_lookup(held)
        assert isinstance(error, LegacySourceUnavailable) and seconds < 1.0, seconds
    finally:
        server.start()
    assert held.get_by_login("ajones") is not None


def test_a_slow_statement_is_cut_by_postgresql_statement_timeout(server, source):
    users = source(server.url)
    with psycopg.connect(server.url) as blocker:
        blocker.execute("LOCK TABLE portal_users IN ACCESS EXCLUSIVE MODE")
        seconds, error = timed_lookup(users)
        blocker.rollback()
    assert isinstance(error, LegacySourceUnavailable) and "statement_timeout" in str(error)
    assert seconds < STATEMENT + MARGIN, seconds
    assert users.get_by_login("ajones") is not None


def test_a_slow_statement_is_cut_on_mariadb(source):
    with mariadb_database("legacy_slow") as db:
        db.execute(
            PORTAL_USERS_DDL.replace("uid INTEGER PRIMARY KEY", "uid INTEGER AUTO_INCREMENT PRIMARY KEY")
        )
        db.execute("INSERT INTO portal_users (login, pass_hash, status) VALUES ('ajones', 'x', 1)")
        users = source(db.reader_url)
        assert users.get_by_login("ajones") is not None
        blocker = db.admin()
        try:
            blocker.cursor().execute("LOCK TABLES portal_users WRITE")
            seconds, error = timed_lookup(users)
        finally:
            blocker.close()  # releases the lock
        assert isinstance(error, LegacySourceUnavailable), error
        # max_statement_time, or at worst the client's read timeout (statement + connect timeouts).
        assert seconds < STATEMENT + CONNECT + MARGIN, seconds
        assert users.get_by_login("ajones") is not None
