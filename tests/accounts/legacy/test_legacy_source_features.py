"""The source's newer features, run against every backend (SQLite, PostgreSQL, MariaDB).

Whole-database iteration and counting, custom ``[query]`` SELECTs, login by e-mail, named
account states on real date/time column types, the password fields a verifier needs, and the
type checks of ``check()``. The contract portal (CONTRACT_ROWS) is in legacy_portal.py.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from legacy_portal import CONTRACT_ROWS, Portal

from accounts.legacy import DuplicateLegacyUser, LegacyMappingError, LegacyRowError, LegacyUser
from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource

# --- iter_all and count -------------------------------------------------------------------------


def _collect(source: SqlUserSource, batch_size: int) -> tuple[list[str], list[LegacyRowError]]:
    errors: list[LegacyRowError] = []
    ids = [user.legacy_id for user in source.iter_all(batch_size, errors=errors.append)]
    return ids, errors


def test_iter_all_yields_every_account_in_id_order_and_reports_bad_rows(fresh: Portal) -> None:
    ids, errors = _collect(fresh.source(), 1000)
    assert ids == [str(row[0]) for row in CONTRACT_ROWS if row[1] is not None]
    assert errors == [
        LegacyRowError("12", None, "no username ([columns] username = 'login' is NULL or empty)")
    ]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 11, 12, 13])
def test_iter_all_pages_do_not_change_the_result(fresh: Portal, batch_size: int) -> None:
    assert _collect(fresh.source(), batch_size) == _collect(fresh.source(), 1000)


def test_iter_all_yields_full_users(fresh: Portal) -> None:
    source = fresh.source()
    by_id = {user.legacy_id: user for user in source.iter_all(errors=lambda error: None)}
    for legacy_id in ("1", "7", "8", "9"):
        assert by_id[legacy_id] == source.get_by_id(legacy_id)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 6, 100])
def test_iter_all_reports_ids_that_several_rows_share(fresh: Portal, batch_size: int) -> None:
    """With a non-unique "id" (here: institution), shared ids are reported, never yielded."""
    source = fresh.source(fresh.with_mapping(id_column="institution", claim_columns=()))
    ids, errors = _collect(source, batch_size)
    assert ids == ["Université d'Exemple"]
    shared = sorted((e.legacy_id, e.problem.split(" (")[0]) for e in errors if e.legacy_id is not None)
    assert shared == [
        ("Example College", "several rows in table 'portal_users'"),
        ("Example University", "several rows in table 'portal_users'"),
    ]
    no_id = sorted(str(e.username) for e in errors if e.legacy_id is None)
    assert no_id == ["Bob", "None", "blank"]  # NULL (Bob; the row without a login) and blank ('  ')
    assert all("no id" in e.problem for e in errors if e.legacy_id is None)


def test_iter_all_without_a_callback_logs_bad_rows(fresh: Portal, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="accounts.legacy.sql"):
        users = list(fresh.source().iter_all())
    assert len(users) == len(CONTRACT_ROWS) - 1
    assert any("legacy row 12 cannot be used: no username" in r.getMessage() for r in caplog.records)
    assert not any("hash-" in r.getMessage() for r in caplog.records)


def test_iter_all_checks_the_batch_size(fresh: Portal) -> None:
    for bad in (0, -1, 100_001, True, 1.5):
        with pytest.raises(ValueError, match="batch_size"):
            list(fresh.source().iter_all(bad))  # type: ignore[arg-type]


def test_count(fresh: Portal) -> None:
    assert fresh.source().count() == len(CONTRACT_ROWS)
    assert fresh.source(parse_mapping(QUERY, source="q.toml")).count() == len(CONTRACT_ROWS)


def test_a_row_without_a_username_is_absent_for_lookups(fresh: Portal) -> None:
    assert fresh.source().get_by_id("12") is None


# --- [query] ------------------------------------------------------------------------------------

QUERY = """
[query]
# Lookups by a custom SELECT; a literal "%" and a repeated parameter are fine.
by_login = \"\"\"
    SELECT p.uid AS user_id, p.login, p.pass_hash, p.email, p.first_name, p.last_name,
           p.institution, p.status
      FROM portal_users p
     WHERE p.login = :login AND (p.pass_hash LIKE '%' OR p.pass_hash IS NULL) -- :not_a_parameter
\"\"\"
by_email = "SELECT p.uid AS user_id, p.login, p.pass_hash, p.email, p.first_name, p.last_name, p.institution, p.status FROM portal_users p WHERE p.email = :email"
by_id = "SELECT p.uid AS user_id, p.login, p.pass_hash, p.email, p.first_name, p.last_name, p.institution, p.status FROM portal_users p WHERE p.uid = :id;"
all = "SELECT p.uid AS user_id, p.login, p.pass_hash, p.email, p.first_name, p.last_name, p.institution, p.status FROM portal_users p"
[columns]
id = "user_id"
username = "login"
password = "pass_hash"
email = "email"
given_name = "first_name"
family_name = "last_name"
organization = "institution"
[state.suspended]
column = "status"
equals = 0
[state.inactive]
column = "status"
is_null = true
"""


@pytest.fixture
def query_source(fresh: Portal) -> SqlUserSource:
    return fresh.source(parse_mapping(QUERY, source="query.toml"))


def test_query_mode_finds_what_table_mode_finds(fresh: Portal, query_source: SqlUserSource) -> None:
    table = fresh.source()
    for login in ("alice", "Bob", "émile", "o'brien", "blank"):
        assert query_source.get_by_login(login) == table.get_by_login(login)
    for legacy_id in ("1", "2", "9", "12", "999", "abc", "05"):
        assert query_source.get_by_id(legacy_id) == table.get_by_id(legacy_id)
    assert query_source.get_by_login("' OR '1'='1") is None
    with pytest.raises(DuplicateLegacyUser):
        query_source.get_by_login("dup")


def test_query_mode_states(query_source: SqlUserSource) -> None:
    suspended, no_status = query_source.get_by_login("suspended"), query_source.get_by_id("11")
    assert suspended is not None and (suspended.state, suspended.is_active) == ("suspended", False)
    assert suspended.state_reason == "[state.suspended] status equals 0"
    assert no_status is not None and no_status.state == "inactive"


def test_query_mode_iterates_and_checks(fresh: Portal, query_source: SqlUserSource) -> None:
    assert _collect(query_source, 4) == _collect(fresh.source(), 4)
    assert query_source.check() == []


def test_query_mode_check_names_a_missing_result_column(fresh: Portal) -> None:
    text = QUERY.replace('given_name = "first_name"', 'given_name = "firstname"')
    problems = fresh.source(parse_mapping(text, source="query.toml")).check()
    assert problems
    assert all("[columns] given_name = 'firstname'" in p and "returns no such column" in p for p in problems)
    assert "[query] by_login" in problems[0] and "first_name" in problems[0]  # lists the real ones


def test_query_mode_check_names_a_failing_query(fresh: Portal) -> None:
    text = QUERY.replace("FROM portal_users p WHERE p.uid = :id", "FROM portal_user p WHERE p.uid = :id")
    problems = fresh.source(parse_mapping(text, source="query.toml")).check()
    assert len(problems) == 1 and problems[0].startswith("query.toml: [query] by_id fails: ")


def test_query_mode_lookup_with_a_failing_query_is_a_mapping_error(fresh: Portal) -> None:
    text = QUERY.replace("p.login = :login", "p.logn = :login")
    with pytest.raises(LegacyMappingError, match=r"\[query\] by_login fails"):
        fresh.source(parse_mapping(text, source="query.toml")).get_by_login("alice")


JOINED = """
[query]
by_login = "SELECT p.uid, p.login, p.pass_hash FROM portal_users p JOIN portal_users q ON q.institution = p.institution WHERE p.login = :login"
by_id = "SELECT p.uid, p.login, p.pass_hash FROM portal_users p JOIN portal_users q ON q.institution = p.institution WHERE p.uid = :id"
all = "SELECT p.uid, p.login, p.pass_hash FROM portal_users p"
[columns]
id = "uid"
username = "login"
password = "pass_hash"
"""


def test_a_join_that_multiplies_rows_is_named(fresh: Portal) -> None:
    source = fresh.source(parse_mapping(JOINED, source="joined.toml"))
    with pytest.raises(DuplicateLegacyUser, match="a join multiplies its rows"):
        source.get_by_login("alice")  # alice's institution has several members
    problems = source.check()
    assert any("[query] by_id finds several rows for the one id 1" in p for p in problems), problems
    assert any("[query] by_login returns" in p and "join" in p for p in problems), problems


# --- login_by -------------------------------------------------------------------------------------


def test_login_by_email(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(login_by="email"))
    alice = source.get_by_login("alice@example.org")
    assert alice is not None and alice.username == "alice"
    assert source.get_by_login("alice") is None
    assert source.get_by_login("ALICE@example.org") is None  # exact, as username_match
    ci = fresh.source(fresh.with_mapping(login_by="email", email_match="case-insensitive"))
    upper = ci.get_by_login("ALICE@EXAMPLE.ORG")
    assert upper is not None and upper.legacy_id == "1"


def test_login_by_username_or_email(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(login_by="username_or_email"))
    by_name, by_mail = source.get_by_login("carol"), source.get_by_login("carol.upper@example.org")
    assert by_name is not None and by_name.legacy_id == "5"
    assert by_mail is not None and by_mail.legacy_id == "6"
    assert source.get_by_login("nobody@example.org") is None


# --- states on real column types, password fields -------------------------------------------------

STATES = """
[table]
name = "account_states"

[columns]
id = "id"
username = "login"
password = "pw"
salt = "salt"

[active]
status = [0, 1]

[state.deleted]
column = "deleted_at"
is_null = false

[state.suspended]
column = "status"
equals = 0

[state.locked]
column = "locked_until"
after_now = true

[[state.expired]]
column = "expires"
before_now = true

[[state.expired]]
column = "expires_unix"
before_now = true

[password]
salt_position = "before"
site_salt_env = "TEST_BRIDGE_PEPPER"
trim_whitespace = true
hex_scheme = "sha256_hex"
"""

DDL = {
    "sqlite": """CREATE TABLE account_states (id INTEGER PRIMARY KEY, login TEXT, pw TEXT, salt TEXT,
        status INTEGER, deleted_at TEXT, expires TEXT, expires_unix INTEGER, locked_until TEXT)""",
    "postgresql": """CREATE TABLE account_states (id integer PRIMARY KEY, login varchar(50), pw varchar(100),
        salt varchar(32), status smallint, deleted_at timestamptz, expires date, expires_unix bigint,
        locked_until timestamp)""",
    "mariadb": """CREATE TABLE account_states (id int unsigned PRIMARY KEY, login varchar(50), pw varchar(100),
        salt varchar(32), status tinyint, deleted_at datetime NULL, expires date NULL,
        expires_unix bigint unsigned, locked_until timestamp NULL)""",
}


@dataclass(frozen=True)
class StateRow:
    id: int
    login: str
    expected: str
    status: int = 1
    deleted_at: datetime | None = None
    expires: date | None = None
    expires_unix: int | None = None
    locked_until: datetime | None = None


def _state_rows() -> list[StateRow]:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    hour = timedelta(hours=1)
    return [
        StateRow(
            1, "ok", "active", expires=today + timedelta(days=30), expires_unix=int(now.timestamp()) + 3600
        ),
        StateRow(2, "gone", "deleted", status=0, deleted_at=now - timedelta(days=1)),
        StateRow(3, "paused", "suspended", status=0),
        StateRow(4, "old", "expired", expires=today - timedelta(days=1)),
        StateRow(5, "old_unix", "expired", expires_unix=int(now.timestamp()) - 60),
        StateRow(6, "locked", "locked", locked_until=now + hour),
        StateRow(7, "unlocked", "active", locked_until=now - hour),
        StateRow(8, "zero", "active", expires_unix=0),
        StateRow(9, "today", "active", expires=today),
        StateRow(10, "other", "inactive", status=3),
    ]


@pytest.fixture(scope="module")
def states_table(portal: Portal) -> list[StateRow]:
    portal.execute("DROP TABLE IF EXISTS account_states")
    portal.execute(DDL[portal.name])
    rows = _state_rows()
    for row in rows:
        password = "pw-" + row.login
        stored = (
            hashlib.sha256(b"salt" + password.encode()).hexdigest() if row.id % 2 else "$2y$04$" + "x" * 53
        )
        values: list[object] = [row.id, row.login, stored, "salt", row.status]
        values.append(_naive(row.deleted_at) if portal.name == "mariadb" else _store(portal, row.deleted_at))
        values.append(_store(portal, row.expires))
        values.append(row.expires_unix)
        if portal.name == "mariadb":
            locked = row.locked_until.timestamp() if row.locked_until else None
            portal.execute(
                "INSERT INTO account_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
                (*values, locked),
            )
        else:
            values.append(_store(portal, _naive(row.locked_until)))
            portal.execute("INSERT INTO account_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", tuple(values))
    return rows


def _naive(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None


def _store(portal: Portal, value: date | datetime | None) -> object:
    if value is None or portal.name != "sqlite":
        return value
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()


@pytest.fixture
def pepper(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TEST_BRIDGE_PEPPER", "pepper-value-1")
    yield "pepper-value-1"


def test_states_on_real_column_types(fresh: Portal, states_table: list[StateRow], pepper: str) -> None:
    source = fresh.source(parse_mapping(STATES, source="states.toml"))
    for row in states_table:
        user = source.get_by_login(row.login)
        assert user is not None
        assert (user.state, user.is_active) == (row.expected, row.expected == "active"), (
            row,
            user.state_reason,
        )
    gone = source.get_by_id("2")
    assert gone is not None and gone.state_reason == "[state.deleted] deleted_at is not NULL"
    old = source.get_by_login("old_unix")
    assert old is not None and old.state_reason == "[state.expired] expires_unix is in the past"
    other = source.get_by_login("other")
    assert other is not None and other.state_reason == "[active] status = [0, 1] does not hold"
    assert source.check() == [] or all(
        "sha256_hex" in p for p in source.check()
    )  # scheme may not be there yet
    assert sorted(u.state for u in source.iter_all()) == sorted(r.expected for r in states_table)


def test_password_fields_for_the_verifier(fresh: Portal, states_table: list[StateRow], pepper: str) -> None:
    source = fresh.source(parse_mapping(STATES, source="states.toml"))
    hexed, crypted = source.get_by_id("1"), source.get_by_id("2")
    assert hexed is not None and crypted is not None
    assert (hexed.salt, hexed.site_salt, hexed.salt_position, hexed.trim_password) == (
        "salt",
        pepper,
        "before",
        True,
    )
    assert hexed.password_scheme == "sha256_hex"  # a bare hex digest: hex_scheme
    assert crypted.password_scheme is None  # "$2y$...": identified by its format
    for text in (repr(hexed), repr(source), source.description):
        assert pepper not in text and "salt'" not in text


def test_a_missing_site_salt_is_named(fresh: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_BRIDGE_PEPPER", raising=False)
    with pytest.raises(LegacyMappingError, match="TEST_BRIDGE_PEPPER is not set"):
        SqlUserSource(fresh.url, parse_mapping(STATES, source="states.toml"))
    monkeypatch.setenv("TEST_BRIDGE_PEPPER", "")
    with pytest.raises(LegacyMappingError, match="TEST_BRIDGE_PEPPER is empty"):
        SqlUserSource(fresh.url, parse_mapping(STATES, source="states.toml"))


# --- check(): types ------------------------------------------------------------------------------


def test_check_names_a_password_column_that_is_not_text(fresh: Portal) -> None:
    problems = fresh.source(fresh.with_mapping(password_column="status")).check()
    assert len(problems) == 1
    assert "[columns] password = 'status' is a integer column" in problems[0] or (
        "[columns] password = 'status' is a number column" in problems[0]
    ), problems


def test_check_names_a_time_condition_on_a_column_without_times(
    fresh: Portal, states_table: list[StateRow], pepper: str
) -> None:
    text = STATES.replace('column = "locked_until"', 'column = "login"')
    problems = fresh.source(parse_mapping(text, source="states.toml")).check()
    problems = [p for p in problems if "sha256_hex" not in p]
    assert len(problems) == 1, problems
    assert (
        "[state.locked] column = 'login' holds text that is neither ISO 8601 nor a Unix timestamp"
        in problems[0]
    )


def test_check_names_an_unknown_scheme(fresh: Portal) -> None:
    problems = fresh.source(fresh.with_mapping(password_scheme="no-such-scheme")).check()
    assert len(problems) == 1
    assert "[password] scheme = 'no-such-scheme' is not a scheme the bridge knows" in problems[0]
    assert "bcrypt" in problems[0]  # the known ones are listed


def test_user_is_a_legacy_user(fresh: Portal) -> None:
    user = fresh.source().get_by_login("alice")
    assert isinstance(user, LegacyUser)
    assert (user.state, user.state_reason, user.site_salt, user.trim_password) == (
        "active",
        None,
        None,
        False,
    )


# --- one indexed query per login -------------------------------------------------------------------


def test_exact_login_keeps_the_index_on_every_server(fresh: Portal) -> None:
    """On MySQL/MariaDB the exact match adds a binary comparison: the index must still serve."""
    if fresh.name == "sqlite":
        pytest.skip("index use is a question for the servers' planners")
    fresh.execute("DROP TABLE IF EXISTS indexed_users")
    fresh.execute("CREATE TABLE indexed_users (uid integer PRIMARY KEY, login varchar(60), pw varchar(100))")
    fresh.execute("CREATE INDEX indexed_users_login ON indexed_users (login)")
    for uid in range(1, 60):
        fresh.execute("INSERT INTO indexed_users VALUES (?, ?, ?)", (uid, f"user{uid}", "x"))
    source = fresh.source(parse_mapping(INDEXED, source="indexed.toml"))
    user = source.get_by_login("user7")
    assert user is not None and user.legacy_id == "7"
    assert source.get_by_login("USER7") is None
    sql, params = "EXPLAIN " + source._by_login.sql, source._by_login.values(login="user7")
    if fresh.name == "mariadb":
        rows = fresh.execute(sql.replace("%s", "?"), params)
        assert rows[0][5] == "indexed_users_login", rows
    else:
        conn = fresh.admin()
        try:
            cursor = conn.cursor()
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            conn.close()
        assert "indexed_users_login" in plan, plan


INDEXED = """
[table]
name = "indexed_users"
[columns]
id = "uid"
username = "login"
password = "pw"
"""
