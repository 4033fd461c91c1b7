"""The mapping file: which table and columns of the portal's database hold the users.

The bridge reads one TOML file (``LEGACY_MAPPING``) and validates it completely before any SQL is
built. The format, with every key (docs/legacy-mapping.md has a worked example)::

    [table]
    name = "users"              # required; may be schema-qualified, e.g. "public.users"

    [columns]
    id = "uid"                  # required: the immutable primary key (the OIDC `sub` comes from it)
    username = "name"           # required: what people type to log in
    password = "pass"           # required: the stored password hash
    salt = "salt"               # optional: a per-user salt column
    email = "mail"              # optional
    name = "full_name"          # optional full name ...
    given_name = "first_name"   # ... and/or given and family names
    family_name = "last_name"
    organization = "org"        # optional

    [constants]
    organization = "Example University"   # optional; used when the row has no value (a column wins)

    [active]                    # optional: the account is active only if every condition holds
    status = 1                  # column = value
    state = ["active", "ok"]    # column = one of these values

    [options]
    username_match = "exact"    # or "case-insensitive" (compares lower(column) with lower(login))
    password_scheme = "bcrypt"  # optional explicit scheme name; default: identified from each hash

Rules:

* Table and column names must be plain identifiers: ASCII letters, digits and underscores, not
  starting with a digit, at most 63 characters; the table may have one dot for a schema. They are
  always quoted by the SQL dialect, so write them exactly as the database stores them (PostgreSQL
  folds unquoted names to lower case when a table is created).
* Values (the login, the id, ``[active]`` values) never enter SQL text: lookups bind parameters,
  and ``[active]`` conditions are evaluated in Python on the fetched row. ``[active]`` values may
  be strings, integers or booleans (or a non-empty list of them); they are compared as text after
  normalising numbers and booleans (``true`` equals 1, ``false`` equals 0), so ``status = 1``
  matches an INTEGER 1, a TEXT ``"1"`` and a boolean true. Text is compared exactly.
* Unknown sections and keys are errors (a typo must not silently disable a condition).

Every problem raises :class:`~accounts.legacy.LegacyMappingError` with a message naming the file,
the key and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from accounts.legacy import LegacyMappingError

__all__ = [
    "CLAIM_FIELDS",
    "ActiveCondition",
    "ActiveValue",
    "LegacyMappingError",
    "Mapping",
    "UsernameMatch",
    "is_identifier",
    "load_mapping",
    "parse_mapping",
    "validate_identifier",
]

UsernameMatch: TypeAlias = Literal["exact", "case-insensitive"]
ActiveValue: TypeAlias = str | int | bool

MAX_IDENTIFIER_LENGTH: Final = 63  # PostgreSQL's NAMEDATALEN - 1; MySQL allows 64
_PART = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_IDENTIFIER_LENGTH - 1}}}"
_COLUMN_RE: Final = re.compile(_PART)
_TABLE_RE: Final = re.compile(rf"{_PART}(?:\.{_PART})?")

REQUIRED_FIELDS: Final = ("id", "username", "password")
CLAIM_FIELDS: Final = ("email", "name", "given_name", "family_name", "organization")
OPTIONAL_FIELDS: Final = ("salt", *CLAIM_FIELDS)
CONSTANT_FIELDS: Final = ("organization",)
USERNAME_MATCHES: Final = ("exact", "case-insensitive")
_SCHEME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_FIELD_HELP: Final = {
    "id": "the immutable primary key column (the OIDC subject is derived from it)",
    "username": "the column people type to log in",
    "password": "the column holding the stored password hash",
    "salt": "a per-user salt column",
    "email": "the e-mail address column",
    "name": "the full-name column",
    "given_name": "the given-name column",
    "family_name": "the family-name column",
    "organization": "the organisation column",
}
_SECTIONS: Final = ("table", "columns", "constants", "active", "options")


def is_identifier(text: str, *, allow_schema: bool = False) -> bool:
    """True if ``text`` is a plain SQL identifier the bridge accepts (see the module docstring)."""
    pattern = _TABLE_RE if allow_schema else _COLUMN_RE
    return isinstance(text, str) and pattern.fullmatch(text) is not None


def validate_identifier(text: object, *, where: str, allow_schema: bool = False) -> str:
    """Return ``text`` if it is an accepted identifier, else raise LegacyMappingError naming ``where``."""
    what = "table name" if allow_schema else "column name"
    if not isinstance(text, str):
        raise LegacyMappingError(f'{where} must be a {what} in double quotes, e.g. "users"; got {text!r}')
    if not is_identifier(text, allow_schema=allow_schema):
        schema = ', optionally schema-qualified with one dot ("portal.users")' if allow_schema else ""
        raise LegacyMappingError(
            f"{where} = {text!r} is not a plain {what}: use ASCII letters, digits and underscores, "
            f"not starting with a digit, at most {MAX_IDENTIFIER_LENGTH} characters{schema}, "
            "spelled exactly as the database stores it"
        )
    return text


def _canonical(value: object) -> str | None:
    """The text an ``[active]`` comparison uses for a database or mapping value."""
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


@dataclass(frozen=True, slots=True)
class ActiveCondition:
    """``column`` must hold one of ``allowed`` for the account to be active."""

    column: str
    allowed: tuple[ActiveValue, ...]

    def __post_init__(self) -> None:
        validate_identifier(self.column, where=f"[active] {self.column!r}")
        if not self.allowed:
            raise LegacyMappingError(f"[active] {self.column}: the list of allowed values is empty")

    def holds(self, value: object) -> bool:
        """Whether a fetched column value satisfies this condition (NULL never does)."""
        got = _canonical(value)
        return got is not None and any(_canonical(allowed) == got for allowed in self.allowed)


@dataclass(frozen=True, slots=True)
class Mapping:
    """A validated mapping. Construct it with :func:`load_mapping` or :func:`parse_mapping`.

    Every identifier is validated again on construction, so a Mapping built by hand cannot smuggle
    arbitrary text into SQL either.
    """

    table: str
    id_column: str
    username_column: str
    password_column: str
    salt_column: str | None = None
    claim_columns: tuple[tuple[str, str], ...] = ()  # (claim field, column), in CLAIM_FIELDS order
    constants: tuple[tuple[str, str], ...] = ()  # (claim field, constant value)
    active: tuple[ActiveCondition, ...] = ()
    username_match: UsernameMatch = "exact"
    password_scheme: str | None = None
    source: str = "<mapping>"  # the file name, for messages

    def __post_init__(self) -> None:
        src = self.source
        validate_identifier(self.table, where=f"{src}: [table] name", allow_schema=True)
        for field, column in self.field_columns():
            validate_identifier(column, where=f"{src}: [columns] {field}")
        for field, _ in self.claim_columns:
            if field not in CLAIM_FIELDS:
                raise LegacyMappingError(f"{src}: [columns] {field!r} is not a claim field ({CLAIM_FIELDS})")
        for field, _ in self.constants:
            if field not in CONSTANT_FIELDS:
                raise LegacyMappingError(f"{src}: [constants] supports only {CONSTANT_FIELDS}, not {field!r}")
        for condition in self.active:
            validate_identifier(condition.column, where=f"{src}: [active] {condition.column}")
        if self.username_match not in USERNAME_MATCHES:
            raise LegacyMappingError(
                f"{src}: [options] username_match must be one of {USERNAME_MATCHES}, "
                f"not {self.username_match!r}"
            )

    def field_columns(self) -> tuple[tuple[str, str], ...]:
        """Every (field, column) pair the ``[columns]`` section maps, required fields first."""
        pairs = [
            ("id", self.id_column),
            ("username", self.username_column),
            ("password", self.password_column),
        ]
        if self.salt_column is not None:
            pairs.append(("salt", self.salt_column))
        pairs.extend(self.claim_columns)
        return tuple(pairs)

    def claim_column(self, field: str) -> str | None:
        return dict(self.claim_columns).get(field)

    def constant(self, field: str) -> str | None:
        return dict(self.constants).get(field)

    def selected_columns(self) -> tuple[str, ...]:
        """The distinct columns a lookup selects: the mapped ones, then the ``[active]`` ones."""
        columns = [column for _, column in self.field_columns()]
        columns.extend(condition.column for condition in self.active)
        return tuple(dict.fromkeys(columns))


# --- parsing ---------------------------------------------------------------------------------


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read and validate the mapping file at ``path``. Raises LegacyMappingError."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LegacyMappingError(f"{source}: mapping file not found (check LEGACY_MAPPING)") from exc
    except UnicodeDecodeError as exc:
        raise LegacyMappingError(f"{source}: the mapping file is not valid UTF-8 ({exc.reason})") from exc
    except OSError as exc:
        raise LegacyMappingError(f"{source}: cannot read the mapping file: {exc.strerror or exc}") from exc
    return parse_mapping(text, source=source)


def parse_mapping(text: str, *, source: str = "<mapping>") -> Mapping:
    """Parse and validate mapping TOML ``text``; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LegacyMappingError(f"{source}: not valid TOML: {exc}") from exc
    return _Parser(source).parse(data)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str) -> LegacyMappingError:
        return LegacyMappingError(f"{self.source}: {message}")

    def unknown(self, where: str, key: str, known: tuple[str, ...]) -> LegacyMappingError:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return self.error(f"{where} has an unknown key {key!r}: {hint}known keys are {', '.join(known)}")

    def section(self, data: dict[str, Any], name: str, *, required: bool) -> dict[str, Any]:
        value = data.get(name)
        if value is None:
            if required:
                raise self.error(f"the [{name}] section is missing")
            return {}
        if not isinstance(value, dict):
            raise self.error(f"{name} must be a section ([{name}]), not a single value")
        return value

    def parse(self, data: dict[str, Any]) -> Mapping:
        for key in data:
            if key not in _SECTIONS:
                close = difflib.get_close_matches(key, _SECTIONS, n=1)
                hint = f"did you mean [{close[0]}]? " if close else ""
                raise self.error(f"unknown section [{key}]: {hint}sections are {', '.join(_SECTIONS)}")
        table = self.table(self.section(data, "table", required=True))
        columns = self.columns(self.section(data, "columns", required=True))
        constants = self.constants(self.section(data, "constants", required=False))
        active = self.active(self.section(data, "active", required=False))
        username_match, scheme = self.options(self.section(data, "options", required=False))
        return Mapping(
            table=table,
            id_column=columns["id"],
            username_column=columns["username"],
            password_column=columns["password"],
            salt_column=columns.get("salt"),
            claim_columns=tuple((field, columns[field]) for field in CLAIM_FIELDS if field in columns),
            constants=constants,
            active=active,
            username_match=username_match,
            password_scheme=scheme,
            source=self.source,
        )

    def table(self, section: dict[str, Any]) -> str:
        for key in section:
            if key != "name":
                raise self.unknown("[table]", key, ("name",))
        if "name" not in section:
            raise self.error("[table] needs 'name' — the user table, e.g. name = \"users\"")
        return validate_identifier(section["name"], where=f"{self.source}: [table] name", allow_schema=True)

    def columns(self, section: dict[str, Any]) -> dict[str, str]:
        known = REQUIRED_FIELDS + OPTIONAL_FIELDS
        for key in section:
            if key not in known:
                raise self.unknown("[columns]", key, known)
        for field in REQUIRED_FIELDS:
            if field not in section:
                raise self.error(f"[columns] needs {field!r} — {_FIELD_HELP[field]}")
        return {
            field: validate_identifier(value, where=f"{self.source}: [columns] {field}")
            for field, value in section.items()
        }

    def constants(self, section: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        result = []
        for key, value in section.items():
            if key not in CONSTANT_FIELDS:
                raise self.unknown("[constants]", key, CONSTANT_FIELDS)
            if not isinstance(value, str) or not value.strip():
                raise self.error(
                    f'[constants] {key} must be a non-empty string, e.g. {key} = "Example University"; '
                    f"got {value!r}"
                )
            result.append((key, value))
        return tuple(result)

    def active(self, section: dict[str, Any]) -> tuple[ActiveCondition, ...]:
        conditions = []
        for column, value in section.items():
            where = f"[active] {column}"
            validate_identifier(column, where=f"{self.source}: {where}")
            values = value if isinstance(value, list) else [value]
            if not values:
                raise self.error(f"{where} = [] would never hold: list the values that mean 'active'")
            for item in values:
                if not isinstance(item, str | int | bool):
                    raise self.error(
                        f"{where}: {item!r} is not a string, integer or boolean; write the value as the "
                        'database stores it, e.g. status = 1 or state = ["active", "ok"]'
                    )
            conditions.append(ActiveCondition(column, tuple(values)))
        return tuple(conditions)

    def options(self, section: dict[str, Any]) -> tuple[UsernameMatch, str | None]:
        known = ("username_match", "password_scheme")
        for key in section:
            if key not in known:
                raise self.unknown("[options]", key, known)
        match = section.get("username_match", "exact")
        if match == "exact":
            username_match: UsernameMatch = "exact"
        elif match == "case-insensitive":
            username_match = "case-insensitive"
        else:
            raise self.error(f'[options] username_match must be "exact" or "case-insensitive", not {match!r}')
        scheme = section.get("password_scheme")
        if scheme is not None and (not isinstance(scheme, str) or not _SCHEME_RE.fullmatch(scheme)):
            raise self.error(
                f'[options] password_scheme must be a scheme name such as "bcrypt" (letters, digits, '
                f"'_', '-', '.'), or be left out to identify each hash by its format; got {scheme!r}"
            )
        return username_match, scheme
