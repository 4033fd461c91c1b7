"""Custom-query parsing (named parameters, SELECT only) and account-state conditions, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.legacy import LegacyMappingError, LegacyUser
from accounts.legacy.conditions import Condition, UnreadableTime, parse_time
from accounts.legacy.query import parse_query

# --- named parameters -------------------------------------------------------------------------


def test_parameters_become_placeholders_and_values_are_bound() -> None:
    query = parse_query("by_login", "SELECT * FROM u WHERE u.name = :login OR u.mail = :login", where="m")
    assert query.parameters == ("login", "login")
    assert query.render("%s", escape_percent=True) == "SELECT * FROM u WHERE u.name = %s OR u.mail = %s"
    assert query.render("?", escape_percent=False) == "SELECT * FROM u WHERE u.name = ? OR u.mail = ?"
    assert query.values(login="x'y") == ("x'y", "x'y")


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ':id' AS a, \":id\" AS b, `:id` AS c FROM u WHERE u.id = :id",
        "SELECT x::text FROM u WHERE u.id = :id -- and :login\n",
        "SELECT /* :login */ x FROM u WHERE u.id = :id",
        "SELECT $$ :login $$, $tag$ :email $tag$ FROM u WHERE u.id = :id",
        "SELECT 'it''s :login', 'a\\' :email' FROM u WHERE u.id = :id",
        "SELECT a:b FROM u WHERE u.id = :id",
        "  select x from u where u.id = :id;  ",
        "WITH t AS (SELECT 1 AS x) SELECT * FROM t, u WHERE u.id = :id",
    ],
)
def test_only_real_parameters_count(text: str) -> None:
    assert parse_query("by_id", text, where="m").parameters == ("id",)


def test_percent_is_doubled_for_format_placeholders() -> None:
    query = parse_query("by_login", "SELECT * FROM u WHERE n = :login AND k LIKE 'wp\\_%'", where="m")
    assert query.render("%s", escape_percent=True).endswith("n = %s AND k LIKE 'wp\\_%%'")
    assert query.render("?", escape_percent=False).endswith("n = ? AND k LIKE 'wp\\_%'")


BAD_QUERIES = [
    ("by_login", "DELETE FROM u WHERE n = :login", "is not a SELECT (it starts with DELETE)"),
    ("by_login", "UPDATE u SET x = 1 WHERE n = :login", "is not a SELECT"),
    ("by_login", "SELECT * FROM u WHERE n = :login; DROP TABLE u", "only one statement"),
    ("by_login", "SELECT * FROM u WHERE n = :login FOR UPDATE", "UPDATE has no place"),
    ("by_login", "SELECT * INTO x FROM u WHERE n = :login", "INTO has no place"),
    (
        "by_login",
        "WITH d AS (DELETE FROM u RETURNING *) SELECT * FROM d WHERE n = :login",
        "DELETE has no place",
    ),
    ("by_login", "SELECT * FROM u WHERE n = :login LOCK IN SHARE MODE", "LOCK has no place"),
    ("by_login", "SELECT * FROM u WHERE n = :user", "unknown parameter :user; [query] by_login takes :login"),
    ("by_login", "SELECT * FROM u WHERE n = :login AND id = :id", "unknown parameter :id"),
    ("by_login", "SELECT * FROM u WHERE n = 'x'", "never uses :login"),
    ("by_id", "SELECT * FROM u WHERE id = ?", "a bare '?' placeholder"),
    ("all", "SELECT * FROM u WHERE id = :id", "[query] all takes no parameters"),
    ("by_id", "SELECT * FROM u WHERE n = 'open :id", "unterminated ' quote"),
    ("by_id", "SELECT * FROM u /* WHERE id = :id", "unterminated /* comment"),
    ("by_id", "", "must be a SELECT statement in quotes"),
    ("by_id", 7, "must be a SELECT statement in quotes"),
    ("by_id", "-- just a comment", "is not a SELECT (it starts with nothing)"),
]


@pytest.mark.parametrize(("key", "text", "expected"), BAD_QUERIES, ids=[e for _, _, e in BAD_QUERIES])
def test_bad_queries_are_refused_with_the_reason(key: str, text: object, expected: str) -> None:
    with pytest.raises(LegacyMappingError) as caught:
        parse_query(key, text, where=f"m.toml: [query] {key}")
    assert str(caught.value).startswith(f"m.toml: [query] {key}")
    assert expected in str(caught.value)


@given(st.text(max_size=60))
def test_parsing_never_crashes_and_never_loses_text(text: str) -> None:
    try:
        query = parse_query("by_id", "SELECT x FROM u WHERE id = :id AND y = " + text, where="m")
    except LegacyMappingError:
        return
    rendered = query.render("\x00", escape_percent=False)
    assert rendered.count("\x00") == len(query.parameters) + text.count("\x00")


# --- conditions -----------------------------------------------------------------------------------

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (0, None),
        ("0", None),
        ("", None),
        ("0000-00-00 00:00:00", None),
        ("0000-00-00", None),
        (1717243200, datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        (Decimal("1717243200.5"), datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        ("1717243200", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("20240601120000", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),  # MediaWiki
        (b"20240601120000", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("2024-06-01 12:00:00", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("2024-06-01T14:00:00+02:00", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("2024-06-01T12:00:00Z", datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("2024-06-01", datetime(2024, 6, 2, tzinfo=UTC)),  # a date is over at the end of the day
        (date(2024, 6, 1), datetime(2024, 6, 2, tzinfo=UTC)),
        (datetime(2024, 6, 1, 12), datetime(2024, 6, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value, UTC_ZONE) == expected


@pytest.mark.parametrize(
    "value", ["soon", "2024-13-01", "20241399000000", True, b"\xff\xfe", float("nan"), 10**20, [1]]
)
def test_unreadable_times(value: object) -> None:
    with pytest.raises(UnreadableTime):
        parse_time(value, UTC_ZONE)


def test_naive_times_are_read_in_the_conditions_time_zone() -> None:
    berlin = Condition("expires", "before_now", time_zone="Europe/Berlin")
    assert berlin.holds(datetime(2024, 6, 1, 13, 30), NOW) is True  # 11:30 UTC
    assert berlin.holds(datetime(2024, 6, 1, 14, 30), NOW) is False  # 12:30 UTC
    assert Condition("expires", "before_now").holds(datetime(2024, 6, 1, 13, 30), NOW) is False


@pytest.mark.parametrize(
    ("condition", "value", "holds"),
    [
        (Condition("s", "equals", (0,)), 0, True),
        (Condition("s", "equals", (0,)), "0", True),
        (Condition("s", "equals", (0,)), False, True),
        (Condition("s", "equals", (0,)), None, False),
        (Condition("s", "not_equals", (1,)), None, True),
        (Condition("s", "not_equals", (1,)), 1, False),
        (Condition("s", "in", ("spam", "ham")), "ham", True),
        (Condition("s", "in", ("spam", "ham")), "Ham", False),
        (Condition("s", "not_in", ("manual",)), "nologin", True),
        (Condition("s", "is_null"), None, True),
        (Condition("s", "is_null"), "", False),
        (Condition("s", "is_null", flag=False), "", True),
        (Condition("s", "before_now"), NOW - timedelta(seconds=1), True),
        (Condition("s", "before_now"), NOW + timedelta(seconds=1), False),
        (Condition("s", "before_now"), None, False),
        (Condition("s", "after_now"), NOW + timedelta(seconds=1), True),
        (Condition("s", "after_now"), 0, False),
        (Condition("s", "before_now"), "garbage", True),  # fail closed
        (Condition("s", "after_now"), "garbage", True),
    ],
)
def test_condition(condition: Condition, value: object, holds: bool) -> None:
    assert condition.holds(value, NOW) is holds


def test_an_unreadable_time_is_explained() -> None:
    holds, note = Condition("expires", "before_now").evaluate("garbage", NOW)
    assert (
        holds
        and note
        == "expires holds text that is neither ISO 8601 nor a Unix timestamp, so it is treated as past"
    )


# --- LegacyUser ------------------------------------------------------------------------------------


def test_state_and_is_active_agree() -> None:
    assert LegacyUser("1", "a", None).state == "active"
    old_style = LegacyUser("1", "a", None, is_active=False)
    assert (old_style.state, old_style.is_active) == ("inactive", False)
    suspended = LegacyUser(
        "1", "a", None, state="suspended", state_reason="[state.suspended] status equals 0"
    )
    assert (suspended.state, suspended.is_active) == ("suspended", False)
    with pytest.raises(ValueError, match="state must be one of"):
        LegacyUser("1", "a", None, state="banned")
    with pytest.raises(ValueError, match="salt_position"):
        LegacyUser("1", "a", None, salt_position="middle")


def test_repr_hides_every_secret() -> None:
    user = LegacyUser("1", "a", "$2y$secret-hash", salt="secret-salt", site_salt="secret-pepper")
    assert "secret" not in repr(user)
