"""The LegacyUserSource contract, run against every backend (SQLite file, real PostgreSQL).

The portal table and its rows are in conftest.py (CONTRACT_ROWS).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from legacy_portal import CONTRACT_ROWS, Portal

from accounts.legacy import (
    DuplicateLegacyUser,
    LegacyMappingError,
    LegacySourceUnavailable,
    LegacyUser,
    LegacyUserSource,
)
from accounts.legacy.demo import PORTAL_USERS_DDL
from accounts.legacy.mapping import ActiveCondition
from accounts.legacy.sql import SqlUserSource


def _count_rows(portal: Portal) -> int:
    return int(portal.execute("SELECT count(*) FROM portal_users")[0][0])


# --- found / not found ---------------------------------------------------------------------------


def test_source_satisfies_the_protocol(fresh: Portal) -> None:
    source: LegacyUserSource = fresh.source()
    assert isinstance(source, SqlUserSource)


def test_found_by_login_with_every_mapped_claim(fresh: Portal) -> None:
    user = fresh.source().get_by_login("alice")
    assert user == LegacyUser(
        legacy_id="1",
        username="alice",
        password_hash="$2y$10$alicealicealicealicealOq0bq0bq0bq0bq0bq0bq0bq0bq0bq0b",
        email="alice@example.org",
        given_name="Alice",
        family_name="Liddell",
        organization="Example University",
        is_active=True,
    )


def test_repr_shows_neither_hash_nor_salt(fresh: Portal) -> None:
    user = fresh.source().get_by_login("alice")
    assert user is not None
    assert "$2y$" not in repr(user)


@pytest.mark.parametrize("login", ["nobody", "", "alic", "alice ", " alice", "alice\n"])
def test_not_found_by_login_is_none(fresh: Portal, login: str) -> None:
    assert fresh.source().get_by_login(login) is None


def test_found_by_id(fresh: Portal) -> None:
    user = fresh.source().get_by_id("9")
    assert user is not None
    assert (user.legacy_id, user.username, user.given_name) == ("9", "émile", "Émile")


@pytest.mark.parametrize(
    "legacy_id",
    ["999", "0", "-1", "abc", "", "05", " 1", "1 ", "1.0", "+1", "1e0", "99999999999999999999999", "1; --"],
)
def test_not_found_by_id_unless_exactly_the_id(fresh: Portal, legacy_id: str) -> None:
    """Only the canonical id finds an account: no coercion of "05" or " 1" to 5 or 1."""
    assert fresh.source().get_by_id(legacy_id) is None


def test_legacy_id_is_text(fresh: Portal) -> None:
    user = fresh.source().get_by_login("Bob")
    assert user is not None
    assert user.legacy_id == "2"
    assert isinstance(user.legacy_id, str)


def test_unicode_login(fresh: Portal) -> None:
    user = fresh.source().get_by_login("émile")
    assert user is not None
    assert user.organization == "Université d'Exemple"


def test_login_with_a_quote_is_just_a_login(fresh: Portal) -> None:
    user = fresh.source().get_by_login("o'brien")
    assert user is not None
    assert user.legacy_id == "10"


# --- matching --------------------------------------------------------------------------------------


def test_exact_match_is_case_sensitive(fresh: Portal) -> None:
    source = fresh.source()
    assert source.get_by_login("bob") is None
    assert source.get_by_login("ALICE") is None
    bob = source.get_by_login("Bob")
    assert bob is not None and bob.legacy_id == "2"
    carol, upper = source.get_by_login("carol"), source.get_by_login("CAROL")
    assert carol is not None and upper is not None
    assert (carol.legacy_id, upper.legacy_id) == ("5", "6")


def test_case_insensitive_match(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(username_match="case-insensitive"))
    for login in ("bob", "BOB", "Bob"):
        user = source.get_by_login(login)
        assert user is not None and user.legacy_id == "2"
    alice = source.get_by_login("ALICE")
    assert alice is not None and alice.username == "alice"  # the stored spelling, not the typed one
    with pytest.raises(DuplicateLegacyUser) as caught:
        source.get_by_login("Carol")  # carol and CAROL are one person to a case-insensitive portal
    assert set(caught.value.legacy_ids) == {"5", "6"}


def test_duplicates_are_an_error_never_a_pick(fresh: Portal) -> None:
    with pytest.raises(DuplicateLegacyUser) as caught:
        fresh.source().get_by_login("dup")
    assert set(caught.value.legacy_ids) == {"3", "4"}
    assert "3" in str(caught.value) and "4" in str(caught.value)


def test_duplicate_ids_are_an_error_too(fresh: Portal) -> None:
    """A mapping whose 'id' column is not unique must not return an arbitrary row."""
    source = fresh.source(fresh.with_mapping(id_column="login", username_column="uid"))
    with pytest.raises(DuplicateLegacyUser):
        source.get_by_id("dup")


# --- values ----------------------------------------------------------------------------------------


def test_null_empty_and_blank_values_are_none(fresh: Portal) -> None:
    user = fresh.source().get_by_login("blank")
    assert user is not None
    assert user.password_hash is None
    assert (user.email, user.given_name, user.family_name, user.organization) == (None, None, None, None)


def test_organization_constant_fills_in_when_the_column_is_empty(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(constants=(("organization", "Example Portal"),)))
    bob, alice = source.get_by_login("Bob"), source.get_by_login("alice")
    assert bob is not None and alice is not None
    assert bob.organization == "Example Portal"  # NULL institution
    assert alice.organization == "Example University"  # the column wins


def test_organization_constant_without_a_column(fresh: Portal) -> None:
    claims = tuple(pair for pair in fresh.mapping.claim_columns if pair[0] != "organization")
    source = fresh.source(
        fresh.with_mapping(claim_columns=claims, constants=(("organization", "Example Portal"),))
    )
    alice = source.get_by_login("alice")
    assert alice is not None and alice.organization == "Example Portal"


def test_password_scheme_and_salt_come_from_the_mapping(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(password_scheme="bcrypt", salt_column="first_name"))
    alice = source.get_by_login("alice")
    assert alice is not None
    assert (alice.password_scheme, alice.salt) == ("bcrypt", "Alice")


def test_inactive_user_is_returned_with_is_active_false(fresh: Portal) -> None:
    source = fresh.source()
    suspended, no_status = source.get_by_login("suspended"), source.get_by_id("11")
    assert suspended is not None and suspended.is_active is False
    assert no_status is not None and no_status.is_active is False  # NULL never satisfies a condition


def test_active_conditions_accept_lists_and_combine(fresh: Portal) -> None:
    either = fresh.source(fresh.with_mapping(active=(ActiveCondition("status", (0, 1)),)))
    suspended = either.get_by_login("suspended")
    assert suspended is not None and suspended.is_active is True
    both = fresh.source(
        fresh.with_mapping(
            active=(ActiveCondition("status", (1,)), ActiveCondition("institution", ("Example University",)))
        )
    )
    alice, carol = both.get_by_login("alice"), both.get_by_login("carol")
    assert alice is not None and alice.is_active is True
    assert carol is not None and carol.is_active is False


def test_no_active_section_means_everyone_is_active(fresh: Portal) -> None:
    suspended = fresh.source(fresh.with_mapping(active=())).get_by_login("suspended")
    assert suspended is not None and suspended.is_active is True


# --- hostile input ---------------------------------------------------------------------------------

HOSTILE_LOGINS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "alice' --",
    "alice'; DROP TABLE portal_users; --",
    '"; DROP TABLE portal_users; --',
    "`; DROP TABLE portal_users; --",
    "\\'; SELECT 1; --",
    "%",
    "_lice",
    "alic%",
    "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth "alice"
    "alice\u200b",  # zero-width space
    "🙂" * 100,
    "x" * 10_000,
]


@pytest.mark.parametrize("login", HOSTILE_LOGINS)
def test_injection_looking_logins_are_not_found(fresh: Portal, login: str) -> None:
    source = fresh.source()
    assert source.get_by_login(login) is None
    assert source.get_by_id(login) is None
    assert _count_rows(fresh) == len(CONTRACT_ROWS)


@pytest.mark.parametrize(
    "login", ["\x00", "alice\x00", "\x00alice", "a\x00' OR '1'='1", "\ud800", "alice\udcff"]
)
def test_nul_bytes_and_lone_surrogates_are_not_found(fresh: Portal, login: str) -> None:
    source = fresh.source()
    assert source.get_by_login(login) is None
    assert source.get_by_id(login) is None
    assert source.get_by_id("1" + login) is None


@pytest.fixture(scope="module")
def module_source(portal: Portal) -> SqlUserSource:
    return portal.source()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(login=st.text(max_size=40))
def test_any_text_login_is_safe(module_source: SqlUserSource, login: str) -> None:
    """Whatever is typed: no exception, and only an account with exactly that name comes back."""
    try:
        user = module_source.get_by_login(login)
    except DuplicateLegacyUser:
        assert login == "dup"
        return
    assert user is None or user.username == login
    ident = module_source.get_by_id(login)
    assert ident is None or ident.legacy_id == login


# --- outages and timeouts --------------------------------------------------------------------------


def test_outage_is_unavailable_quickly_and_without_the_password(fresh: Portal) -> None:
    source = fresh.source(url=fresh.unreachable_url, connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(LegacySourceUnavailable) as caught:
        source.get_by_login("alice")
    with pytest.raises(LegacySourceUnavailable):
        source.get_by_id("1")
    assert time.monotonic() - started < 5
    with pytest.raises(LegacySourceUnavailable) as checked:
        source.check()  # an outage, not a mapping problem: start-up warns instead of refusing
    for text in (str(caught.value), str(checked.value), repr(source), source.description):
        assert "s3cret" not in text and "Pa55" not in text


def test_slow_statement_is_unavailable_after_the_statement_timeout(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(table="slow_users"), statement_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(LegacySourceUnavailable, match=r"0\.3 s"):
        source.get_by_login("alice")
    assert time.monotonic() - started < 3
    # The connection survives a timeout; a quick query on it still works.
    assert fresh.source(statement_timeout=0.3).get_by_login("alice") is not None


# --- check() and mapping errors --------------------------------------------------------------------


def test_check_passes_for_a_good_mapping(fresh: Portal) -> None:
    assert fresh.source().check() == []


def test_check_names_a_missing_column_and_lists_the_real_ones(fresh: Portal) -> None:
    claims = (("email", "mail"), *fresh.mapping.claim_columns[1:])
    problems = fresh.source(fresh.with_mapping(claim_columns=claims)).check()
    assert len(problems) == 1
    assert "[columns] email = 'mail'" in problems[0]
    assert "contract.toml" in problems[0]
    assert "pass_hash" in problems[0] and "institution" in problems[0]  # the columns that do exist


def test_check_names_a_missing_active_column(fresh: Portal) -> None:
    problems = fresh.source(fresh.with_mapping(active=(ActiveCondition("state", ("ok",)),))).check()
    assert len(problems) == 1 and "[active] state" in problems[0]


def test_check_hints_at_a_case_mismatch(fresh: Portal) -> None:
    source = fresh.source(fresh.with_mapping(username_column="Login"))
    problems = source.check()
    if fresh.name in ("sqlite", "mariadb"):  # column names are case-insensitive there, even quoted
        assert problems == []
        assert source.get_by_login("alice") is not None
    else:  # PostgreSQL: a quoted name is exact
        assert len(problems) == 1 and "did you mean 'login'" in problems[0]


def test_check_names_a_missing_table(fresh: Portal) -> None:
    problems = fresh.source(fresh.with_mapping(table="portal_user")).check()
    assert len(problems) == 1
    assert "[table] name = 'portal_user'" in problems[0] and "no such table" in problems[0]


def test_lookup_with_a_missing_column_is_a_mapping_error(fresh: Portal) -> None:
    """On SQLite a misspelt "column" in double quotes would be a string literal: it must not be."""
    source = fresh.source(fresh.with_mapping(username_column="user_login"))
    with pytest.raises(LegacyMappingError, match="user_login"):
        source.get_by_login("alice")
    source = fresh.source(fresh.with_mapping(id_column="user_id"))
    with pytest.raises(LegacyMappingError, match=r"\[columns\] id = 'user_id'"):
        source.get_by_id("1")


def test_lookup_with_a_missing_table_is_a_mapping_error(fresh: Portal) -> None:
    with pytest.raises(LegacyMappingError, match="portal_user'"):
        fresh.source(fresh.with_mapping(table="portal_user")).get_by_login("alice")


# --- connections -----------------------------------------------------------------------------------


def test_one_connection_per_thread_reused_across_calls(fresh: Portal) -> None:
    source = fresh.source()
    source.get_by_login("alice")
    first, _ = source._acquire()
    source.get_by_id("1")
    assert source._acquire() == (first, False)
    seen: list[object] = []

    def work() -> None:
        assert source.get_by_login("alice") is not None
        seen.append(source._acquire()[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(held) for held in [first, *seen]}) == 4
    source.close()
    assert source.get_by_login("alice") is not None  # reconnects after close()


def _server_session_id(portal: Portal, conn: Any) -> int:
    return int(conn.info.backend_pid) if portal.name == "postgresql" else int(conn.thread_id())


def test_a_broken_connection_is_replaced_once(fresh: Portal) -> None:
    if fresh.name == "sqlite":
        pytest.skip("only a server connection can break under the source")
    source = fresh.source()
    assert source.get_by_login("alice") is not None
    held, _ = source._acquire()
    session = _server_session_id(fresh, held.conn)
    if fresh.name == "postgresql":
        fresh.execute("SELECT pg_terminate_backend(?)", (session,))
    else:
        fresh.execute(f"KILL CONNECTION {session}")
    time.sleep(0.1)
    assert source.get_by_login("alice") is not None
    assert _server_session_id(fresh, source._acquire()[0].conn) != session


def test_id_lookup_keeps_the_primary_key_index(fresh: Portal) -> None:
    if fresh.name == "sqlite":
        pytest.skip("index use is a question for the servers' planners")
    source = fresh.source()
    if fresh.name == "postgresql":
        conn = psycopg.connect(fresh.url, autocommit=True)
        try:
            conn.execute("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + source._by_id_sql, ("5",)))
        finally:
            conn.close()
        assert "Index" in plan and "portal_users_pkey" in plan, plan
    else:
        rows = fresh.execute("EXPLAIN " + source._by_id_sql.replace("%s", "?"), ("5",))
        assert rows[0][5] == "PRIMARY", rows  # EXPLAIN's "key" column


def test_sqlite_relative_url_is_relative_to_the_working_directory(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, fresh: Portal
) -> None:
    if fresh.name != "sqlite":
        pytest.skip("SQLite URLs only")
    conn = sqlite3.connect(tmp_path / "rel.db")
    conn.execute(PORTAL_USERS_DDL)
    conn.execute("INSERT INTO portal_users (uid, login, status) VALUES (1, 'rel', 1)")
    conn.commit()
    conn.close()
    monkeypatch.chdir(tmp_path)
    source = fresh.source(url="sqlite:///rel.db")
    user = source.get_by_login("rel")
    assert user is not None and user.is_active
    with pytest.raises(LegacySourceUnavailable, match="four slashes"):
        fresh.source(url="sqlite:///var/lib/portal.db").check()
