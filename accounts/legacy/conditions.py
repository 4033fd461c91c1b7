"""Account-state conditions: when a legacy row is deleted, suspended, locked, expired or inactive.

Conditions are evaluated in Python on the fetched row, so mapping values never enter SQL. A
``[state.<name>]`` entry is one condition (or, as ``[[state.<name>]]``, several of which any one
suffices)::

    [state.suspended]
    column = "status"
    equals = 0              # or: not_equals = x, in = [..], not_in = [..],
                            #     is_null = true|false, before_now = true, after_now = true

Values are compared as text after normalising numbers and booleans (``true`` = 1, ``false`` = 0,
``1.0`` = 1, bytes decoded as UTF-8), exactly like ``[active]``. ``equals``/``in`` never hold for
NULL; ``not_equals``/``not_in`` do.

Time conditions (``before_now``: the value is in the past; ``after_now``: in the future) accept:

* DATETIME / TIMESTAMP values: naive ones are read in the condition's ``time_zone`` (default
  ``"UTC"``); aware ones (PostgreSQL ``timestamptz``) as they are;
* DATE values: the date is in the past once the day is over (``before_now`` holds from the next
  day, in ``time_zone``);
* numbers: Unix seconds (INTEGER, BIGINT, DECIMAL, REAL);
* text: a run of 14 digits is ``YYYYMMDDHHMMSS`` (MediaWiki's binary(14) timestamps), other digits
  are Unix seconds, anything else must be ISO 8601 (``2024-05-01``, ``2024-05-01 12:00:00``,
  ``2024-05-01T12:00:00+02:00``), as SQLite stores dates.

NULL, ``0``, an empty string and MySQL's zero date ``0000-00-00`` mean "no date": a time
condition never holds for them. A value that cannot be read as a time at all makes the condition
hold ("fail closed": an unreadable expiry date blocks the login) and the reason says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Final, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from accounts.legacy import LegacyMappingError

__all__ = [
    "OPERATORS",
    "STATE_ORDER",
    "Condition",
    "ConditionValue",
    "Operator",
    "StateRule",
    "canonical",
    "parse_time",
    "validate_time_zone",
]

ConditionValue: TypeAlias = str | int | bool
Operator: TypeAlias = Literal["equals", "not_equals", "in", "not_in", "is_null", "before_now", "after_now"]
OPERATORS: Final[tuple[Operator, ...]] = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "is_null",
    "before_now",
    "after_now",
)
#: Named states, most final first: when several hold, the first one named here is reported.
STATE_ORDER: Final = ("deleted", "suspended", "locked", "expired", "inactive")

_MW_TIMESTAMP: Final = re.compile(r"\d{14}")
_DIGITS: Final = re.compile(r"[+-]?\d+(\.\d+)?")
_ZERO_DATE: Final = re.compile(r"0{4}-0{2}-0{2}([ T]0{2}:0{2}:0{2}(\.0+)?)?")


def canonical(value: object) -> str | None:
    """The text a comparison uses for a database or mapping value (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        return str(int(value)) if finite and value == int(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def validate_time_zone(name: object, *, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise LegacyMappingError(f'{where} must be an IANA time zone name such as "UTC" or "Europe/Berlin"')
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LegacyMappingError(
            f'{where} = {name!r} is not a known IANA time zone (e.g. "UTC", "Europe/Berlin")'
        ) from exc
    return name


class UnreadableTime(ValueError):
    """A value meant to be a time that is none (the message says what was wrong, never the value)."""


_FAR_FUTURE: Final = datetime.max.replace(tzinfo=UTC)
_FAR_PAST: Final = datetime.min.replace(tzinfo=UTC)


def _edge_of_time(value: date) -> datetime | None:
    """Dates within two days of the ends of Python's calendar would overflow a time-zone shift."""
    day = value.date() if isinstance(value, datetime) else value
    if day >= date.max - timedelta(days=2):
        return _FAR_FUTURE
    if day <= date.min + timedelta(days=2):
        return _FAR_PAST
    return None


def parse_time(value: object, zone: tzinfo) -> datetime | None:
    """The instant a column value stands for (aware, UTC), None for "no date".

    Raises UnreadableTime when the value is not a time at all.
    """
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise UnreadableTime("a boolean is not a time")
        return None
    if isinstance(value, date) and (edge := _edge_of_time(value)) is not None:
        return edge  # 'infinity' dates (loaded as the largest date): far future or far past
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    if isinstance(value, date):
        # A date is over at the end of the day: the instant is the next midnight.
        return datetime.combine(value + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    if isinstance(value, int | float | Decimal):
        return _from_unix(value)
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise UnreadableTime("binary data that is not a time") from None
    if isinstance(value, str):
        text = value.strip().rstrip("\x00")
        if not text or _ZERO_DATE.fullmatch(text):
            return None
        if _MW_TIMESTAMP.fullmatch(text):
            try:
                return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=zone).astimezone(UTC)
            except ValueError:
                raise UnreadableTime("14 digits that are not a YYYYMMDDHHMMSS time") from None
        if _DIGITS.fullmatch(text):
            try:
                return _from_unix(Decimal(text))
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                raise UnreadableTime("not a number") from None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise UnreadableTime("text that is neither ISO 8601 nor a Unix timestamp") from None
        if len(text) == 10 and parsed.time() == datetime.min.time() and parsed.tzinfo is None:
            return parse_time(parsed.date(), zone)  # a bare date: over at the end of the day
        return parse_time(parsed, zone)
    raise UnreadableTime(f"a {type(value).__name__} is not a time")


def _from_unix(value: int | float | Decimal) -> datetime | None:
    if isinstance(value, float) and not math.isfinite(value):
        raise UnreadableTime("not a finite number")
    if isinstance(value, Decimal) and not value.is_finite():
        raise UnreadableTime("not a finite number")
    if value == 0:
        return None  # the usual PHP "never"
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        raise UnreadableTime("a number too large for a Unix timestamp") from None


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on one column of the fetched row."""

    column: str
    operator: Operator
    values: tuple[ConditionValue, ...] = ()  # equals/not_equals: one value; in/not_in: several
    flag: bool = True  # is_null: true (the column is NULL) or false (it is not)
    time_zone: str = "UTC"  # for naive datetimes and dates

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise LegacyMappingError(f"unknown condition operator {self.operator!r} (one of {OPERATORS})")
        if self.operator in ("equals", "not_equals") and len(self.values) != 1:
            raise LegacyMappingError(f"{self.operator} takes exactly one value")
        if self.operator in ("in", "not_in") and not self.values:
            raise LegacyMappingError(f"{self.operator} needs a non-empty list of values")
        validate_time_zone(self.time_zone, where="time_zone")

    def describe(self) -> str:
        """The condition in words, for reasons and messages (mapping values only, never row data)."""
        op = self.operator
        if op in ("equals", "not_equals"):
            return f"{self.column} {op.replace('_', ' ')} {self.values[0]!r}"
        if op in ("in", "not_in"):
            return f"{self.column} {op.replace('_', ' ')} {list(self.values)!r}"
        if op == "is_null":
            return f"{self.column} is {'' if self.flag else 'not '}NULL"
        return f"{self.column} is {'in the past' if op == 'before_now' else 'in the future'}"

    def evaluate(self, value: object, now: datetime) -> tuple[bool, str | None]:
        """(holds, note): ``note`` explains a fail-closed decision on an unreadable value."""
        op = self.operator
        if op == "is_null":
            is_null = value is None
            return (is_null if self.flag else not is_null), None
        if op in ("before_now", "after_now"):
            try:
                instant = parse_time(value, ZoneInfo(self.time_zone))
            except UnreadableTime as exc:
                return (
                    True,
                    f"{self.column} holds {exc}, so it is treated as {'past' if op == 'before_now' else 'future'}",
                )
            if instant is None:
                return False, None
            return (instant <= now if op == "before_now" else instant > now), None
        got = canonical(value)
        matches = got is not None and any(canonical(allowed) == got for allowed in self.values)
        if op in ("equals", "in"):
            return matches, None
        return not matches, None

    def holds(self, value: object, now: datetime | None = None) -> bool:
        return self.evaluate(value, now or datetime.now(UTC))[0]


@dataclass(frozen=True, slots=True)
class StateRule:
    """A named state and its conditions; the state applies when any one condition holds."""

    state: str
    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if self.state not in STATE_ORDER:
            raise LegacyMappingError(
                f"[state.{self.state}] is not a state: states are {', '.join(STATE_ORDER)}"
            )
        if not self.conditions:
            raise LegacyMappingError(f"[state.{self.state}] has no condition")
