"""Read-only, proven (issue 3, item 7), on SQLite, PostgreSQL and MariaDB.

Three layers, each shown on its own:

1. The source never sends a write: every statement it issues, for every operation (lookups,
   iteration, count, check, custom queries), is recorded at the driver and must be a read.
2. The session is read-only: through a source that connects with *full* rights, any write on the
   source's own connection fails with the database's read-only error.
3. The role may only SELECT: the servers' sources connect as a role/user with SELECT and nothing
   else; even after switching the session back to read-write, a write fails on privileges.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest
from legacy_portal import CONTRACT_ROWS, Portal

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource

WRITES = [
    "INSERT INTO portal_users (uid, login) VALUES (100, 'intruder')",
    "UPDATE portal_users SET pass_hash = 'x' WHERE uid = 1",
    "DELETE FROM portal_users WHERE uid = 1",
    "CREATE TABLE intruder (x integer)",
    "DROP TABLE portal_users",
]

QUERY_MAPPING = """
[query]
by_login = "SELECT uid, login, pass_hash, email, status FROM portal_users WHERE login = :login"
by_email = "SELECT uid, login, pass_hash, email, status FROM portal_users WHERE email = :email"
by_id = "SELECT uid, login, pass_hash, email, status FROM portal_users WHERE uid = :id"
all = "SELECT uid, login, pass_hash, email, status FROM portal_users"
[columns]
id = "uid"
username = "login"
password = "pass_hash"
email = "email"
[state.suspended]
column = "status"
equals = 0
[options]
login_by = "username_or_email"
"""


def _run(conn: Any, statement: str) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _count(portal: Portal) -> int:
    return int(portal.execute("SELECT count(*) FROM portal_users")[0][0])


def _held_conn(source: SqlUserSource) -> Any:
    assert source.get_by_login("alice") is not None
    held, _ = source._acquire()
    return held.conn


# --- 1. the source never sends a write --------------------------------------------------------

ALLOWED = re.compile(
    r"\s*(SELECT\b"
    r"|SHOW default_transaction_read_only$"
    r"|PRAGMA query_only = ON$"
    r"|SET SESSION TRANSACTION READ ONLY$"
    r"|SET SESSION (max_statement_time|max_execution_time) = [0-9.eE+-]+$"
    r"|SET SESSION time_zone = '\+00:00'$"
    r"|SET NAMES utf8mb4( COLLATE \w+)?$"  # PyMySQL, on connecting
    r"|SET AUTOCOMMIT = 1$)",  # PyMySQL, on connecting
    re.IGNORECASE,
)
LITERAL = re.compile(r"'(?:[^'\\]|\\.|'')*'")
NEVER_IN_A_READ = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|DROP|CREATE|ALTER|GRANT|INTO|LOCK|FOR\s+SHARE)\b", re.IGNORECASE
)


@pytest.fixture
def statements(fresh: Portal, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement any source sends during the test, recorded at the driver."""
    seen: list[str] = []
    if fresh.name == "sqlite":
        real_connect = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn = real_connect(*args, **kwargs)
            conn.set_trace_callback(seen.append)
            return conn

        monkeypatch.setattr(sqlite3, "connect", connect)
    elif fresh.name == "postgresql":
        real_execute = psycopg.Cursor.execute

        def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(query if isinstance(query, str) else query.as_string(self.connection))
            return real_execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    else:
        real_command = pymysql.connections.Connection._execute_command

        def command(self: Any, kind: int, sql: Any) -> Any:
            if kind == pymysql.constants.COMMAND.COM_QUERY:
                seen.append(sql.decode("utf-8", "replace") if isinstance(sql, bytes) else str(sql))
            return real_command(self, kind, sql)

        monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", command)
    yield seen


def test_the_source_only_ever_reads(fresh: Portal, statements: list[str]) -> None:
    table = fresh.source(
        fresh.with_mapping(claim_columns=(("email", "email"),), login_by="username_or_email")
    )
    query = fresh.source(parse_mapping(QUERY_MAPPING, source="query.toml"))
    for source in (table, query):
        assert source.check() == []
        assert source.get_by_login("alice") is not None
        assert source.get_by_login("bob@example.org") is not None  # by e-mail, after the username
        assert source.get_by_login("'; DROP TABLE portal_users; --") is None
        assert source.get_by_id("1") is not None
        assert source.get_by_id("abc") is None
        assert source.count() == len(CONTRACT_ROWS)
        assert len(list(source.iter_all(batch_size=3, errors=lambda error: None))) == len(CONTRACT_ROWS) - 1
    assert statements, "the recorder saw nothing: it is not wired to the driver the source uses"
    for statement in statements:
        assert ALLOWED.match(statement), f"the source sent a statement that is not a read: {statement!r}"
        if statement.lstrip().upper().startswith("SELECT"):
            # Bound values show up inlined (SQLite's trace, PyMySQL): judge the SQL around them.
            assert not NEVER_IN_A_READ.search(LITERAL.sub("''", statement)), statement
    assert _count(fresh) == len(CONTRACT_ROWS)


# --- 2. the session is read-only ----------------------------------------------------------------


def _is_read_only_error(portal: Portal, exc: BaseException) -> bool:
    if portal.name == "sqlite":
        return isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc).replace("-", "")
    if portal.name == "postgresql":
        return isinstance(exc, psycopg.errors.ReadOnlySqlTransaction)
    return isinstance(exc, pymysql.err.MySQLError) and exc.args[0] == 1792  # READ ONLY transaction


@pytest.mark.parametrize("statement", WRITES)
def test_the_session_refuses_writes_even_with_full_rights(fresh: Portal, statement: str) -> None:
    source = fresh.source(url=fresh.admin_url)
    conn = _held_conn(source)
    with pytest.raises(fresh.driver_error) as caught:
        _run(conn, statement)
    assert _is_read_only_error(fresh, caught.value), repr(caught.value)
    assert _count(fresh) == len(CONTRACT_ROWS)
    assert source.get_by_login("alice") is not None  # and the connection still works


def test_the_session_says_it_is_read_only(fresh: Portal) -> None:
    conn = _held_conn(fresh.source(url=fresh.admin_url))
    cursor = conn.cursor()
    if fresh.name == "sqlite":
        cursor.execute("PRAGMA query_only")
        assert cursor.fetchone() == (1,)
    elif fresh.name == "postgresql":
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchone() == ("on",)
    else:
        cursor.execute("SELECT @@session.tx_read_only")
        assert cursor.fetchone() == (1,)
    cursor.close()


# --- 3. the role may only SELECT ----------------------------------------------------------------


@pytest.mark.parametrize("statement", WRITES)
def test_the_role_may_only_select(fresh: Portal, statement: str) -> None:
    if fresh.name == "sqlite":
        pytest.skip("SQLite has no roles: the file is opened mode=ro (layer 2)")
    assert fresh.url != fresh.admin_url
    source = fresh.source()  # the SELECT-only role
    conn = _held_conn(source)
    # Take the session's read-only guard away: only the role's privileges are left.
    if fresh.name == "postgresql":
        _run(conn, "SET default_transaction_read_only = off")
        denied: tuple[type[BaseException], ...] = (psycopg.errors.InsufficientPrivilege,)
    else:
        _run(conn, "SET SESSION TRANSACTION READ WRITE")
        denied = (pymysql.err.MySQLError,)
    with pytest.raises(denied) as caught:
        _run(conn, statement)
    if fresh.name == "mariadb":
        # 1142 command denied on the table; 1044 access denied to the database (CREATE/DROP).
        assert caught.value.args[0] in (1142, 1044), caught.value.args
    assert _count(fresh) == len(CONTRACT_ROWS)
