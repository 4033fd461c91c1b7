"""The mapping file: where the portal's database keeps its users, and what its values mean.

The bridge reads one TOML file (``LEGACY_MAPPING``) and validates it completely before any SQL is
built. docs/legacy-mapping.md describes every key, with worked mappings for real products. In
short::

    [table]                     # either one table ...
    name = "users"

    [query]                     # ... or custom SELECTs (joins, key/value meta tables)
    by_login = "SELECT ... WHERE u.name = :login"
    by_email = "SELECT ... WHERE u.mail = :email"     # optional (login_by = "email" needs it)
    by_id = "SELECT ... WHERE u.uid = :id"
    all = "SELECT ..."                                 # every account, for audits

    [columns]                   # table columns, or result columns of the queries
    id = "uid"                  # required: the immutable primary key (the OIDC `sub` comes from it)
    username = "name"           # required
    password = "pass"           # required: the stored password hash
    salt = "salt"               # optional: a per-user salt column
    email = "mail"              # optional
    name = "full_name"          # optional full name ...
    given_name = "first_name"   # ... and/or given and family names
    family_name = "last_name"
    organization = "org"        # optional

    [constants]
    organization = "Example University"   # used when the row has no value (a column wins)

    [active]                    # optional: the account is active only if every condition holds
    status = 1                  # column = value (or a list of values)

    [state.suspended]           # optional named states: deleted, suspended, locked, expired,
    column = "status"           # inactive; each one condition, or [[state.x]] for any of several
    equals = 0                  # equals, not_equals, in, not_in, is_null, before_now, after_now

    [password]
    scheme = "bcrypt"           # optional: one scheme for every row (default: identify each hash)
    hex_scheme = "moodle_md5"   # optional: the scheme of bare hex digests (which carry no prefix)
    salt_position = "after"     # "before" or "after" the password (default "after")
    site_salt_env = "PEPPER"    # optional: NAME of the environment variable holding a site salt
    trim_whitespace = false     # true: the portal trimmed the password before hashing (WordPress)

    [options]
    username_match = "exact"    # or "case-insensitive"
    email_match = "exact"       # default: as username_match
    login_by = "username"       # or "email", "username_or_email"
    password_scheme = "bcrypt"  # older spelling of [password] scheme

Rules:

* Table and column names must be plain identifiers: ASCII letters, digits and underscores, not
  starting with a digit, at most 63 characters; the table may have one dot for a schema. They are
  always quoted by the SQL dialect, so write them exactly as the database stores them.
* Values (the login, the id, condition values) never enter SQL text: lookups bind parameters, and
  ``[active]`` and ``[state.*]`` conditions are evaluated in Python on the fetched row.
* Custom queries are checked when the file is loaded (one SELECT, known named parameters only; see
  query.py) and against the database by ``check()``.
* Unknown sections and keys are errors (a typo must not silently disable a condition).

Every problem raises :class:`~accounts.legacy.LegacyMappingError` with a message naming the file,
the key and the fix. The site salt's *value* is read from the environment when the source is
built (sql.py), never from this file.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from accounts.legacy import LegacyMappingError
from accounts.legacy.conditions import (
    OPERATORS,
    STATE_ORDER,
    Condition,
    ConditionValue,
    StateRule,
    canonical,
    validate_time_zone,
)
from accounts.legacy.query import QUERY_PARAMETERS, ParsedQuery, parse_query

__all__ = [
    "CLAIM_FIELDS",
    "ActiveCondition",
    "ActiveValue",
    "Condition",
    "LegacyMappingError",
    "LoginBy",
    "Mapping",
    "Queries",
    "SaltPosition",
    "StateRule",
    "UsernameMatch",
    "is_identifier",
    "load_mapping",
    "parse_mapping",
    "validate_identifier",
]

UsernameMatch: TypeAlias = Literal["exact", "case-insensitive"]
LoginBy: TypeAlias = Literal["username", "email", "username_or_email"]
SaltPosition: TypeAlias = Literal["before", "after"]
ActiveValue: TypeAlias = ConditionValue

MAX_IDENTIFIER_LENGTH: Final = 63  # PostgreSQL's NAMEDATALEN - 1; MySQL allows 64
_PART = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_IDENTIFIER_LENGTH - 1}}}"
_COLUMN_RE: Final = re.compile(_PART)
_TABLE_RE: Final = re.compile(rf"{_PART}(?:\.{_PART})?")
_ENV_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

REQUIRED_FIELDS: Final = ("id", "username", "password")
CLAIM_FIELDS: Final = ("email", "name", "given_name", "family_name", "organization")
OPTIONAL_FIELDS: Final = ("salt", *CLAIM_FIELDS)
CONSTANT_FIELDS: Final = ("organization",)
USERNAME_MATCHES: Final = ("exact", "case-insensitive")
LOGIN_BY: Final = ("username", "email", "username_or_email")
SALT_POSITIONS: Final = ("before", "after")
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
_SECTIONS: Final = ("table", "query", "columns", "constants", "active", "state", "password", "options")
_PASSWORD_KEYS: Final = ("scheme", "hex_scheme", "salt_position", "site_salt_env", "trim_whitespace")
_OPTION_KEYS: Final = ("username_match", "email_match", "login_by", "password_scheme")
_CONDITION_KEYS: Final = ("column", *OPERATORS, "time_zone")


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


def validate_scheme_name(value: object, *, where: str) -> str:
    if not isinstance(value, str) or not _SCHEME_RE.fullmatch(value):
        raise LegacyMappingError(
            f"{where} must be a scheme name such as \"bcrypt\" (letters, digits, '_', '-', '.'), "
            f"or be left out to identify each hash by its format; got {value!r}"
        )
    return value


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
        got = canonical(value)
        return got is not None and any(canonical(allowed) == got for allowed in self.allowed)

    def describe(self) -> str:
        allowed = self.allowed[0] if len(self.allowed) == 1 else list(self.allowed)
        return f"{self.column} = {allowed!r}"


@dataclass(frozen=True, slots=True)
class Queries:
    """The ``[query]`` section: custom SELECTs in place of ``[table]``."""

    by_login: ParsedQuery
    by_id: ParsedQuery
    all: ParsedQuery
    by_email: ParsedQuery | None = None

    def __post_init__(self) -> None:
        for key in QUERY_PARAMETERS:
            query = getattr(self, key)
            if query is not None and query.key != key:
                raise LegacyMappingError(f"[query] {key} holds the {query.key} query")

    def items(self) -> tuple[ParsedQuery, ...]:
        return tuple(q for q in (self.by_login, self.by_email, self.by_id, self.all) if q is not None)


@dataclass(frozen=True, slots=True)
class Mapping:
    """A validated mapping. Construct it with :func:`load_mapping` or :func:`parse_mapping`.

    Exactly one of ``table`` and ``queries`` is set. Every identifier is validated again on
    construction, so a Mapping built by hand cannot smuggle arbitrary text into SQL either.
    """

    table: str | None
    id_column: str
    username_column: str
    password_column: str
    salt_column: str | None = None
    claim_columns: tuple[tuple[str, str], ...] = ()  # (claim field, column), in CLAIM_FIELDS order
    constants: tuple[tuple[str, str], ...] = ()  # (claim field, constant value)
    active: tuple[ActiveCondition, ...] = ()
    username_match: UsernameMatch = "exact"
    password_scheme: str | None = None  # [password] scheme (or [options] password_scheme)
    source: str = "<mapping>"  # the file name, for messages
    queries: Queries | None = None
    states: tuple[StateRule, ...] = ()
    login_by: LoginBy = "username"
    email_match: UsernameMatch | None = None  # None: as username_match
    salt_position: SaltPosition = "after"
    site_salt_env: str | None = None
    trim_whitespace: bool = False
    hex_scheme: str | None = None

    def __post_init__(self) -> None:
        src = self.source
        if (self.table is None) == (self.queries is None):
            raise LegacyMappingError(
                f"{src}: give either [table] (one user table) or [query] (custom SELECTs), not "
                f"{'both' if self.table is not None else 'neither'}"
            )
        if self.table is not None:
            validate_identifier(self.table, where=f"{src}: [table] name", allow_schema=True)
        for field, column in self.field_columns():
            validate_identifier(column, where=f"{src}: [columns] {field}")
        for field, _ in self.claim_columns:
            if field not in CLAIM_FIELDS:
                raise LegacyMappingError(f"{src}: [columns] {field!r} is not a claim field ({CLAIM_FIELDS})")
        for field, _ in self.constants:
            if field not in CONSTANT_FIELDS:
                raise LegacyMappingError(f"{src}: [constants] supports only {CONSTANT_FIELDS}, not {field!r}")
        for active in self.active:
            validate_identifier(active.column, where=f"{src}: [active] {active.column}")
        for rule in self.states:
            for condition in rule.conditions:
                validate_identifier(condition.column, where=f"{src}: [state.{rule.state}] column")
        if self.username_match not in USERNAME_MATCHES:
            raise LegacyMappingError(
                f"{src}: [options] username_match must be one of {USERNAME_MATCHES}, "
                f"not {self.username_match!r}"
            )
        if self.email_match is not None and self.email_match not in USERNAME_MATCHES:
            raise LegacyMappingError(
                f"{src}: [options] email_match must be one of {USERNAME_MATCHES}, not {self.email_match!r}"
            )
        if self.login_by not in LOGIN_BY:
            raise LegacyMappingError(
                f"{src}: [options] login_by must be one of {LOGIN_BY}, not {self.login_by!r}"
            )
        if self.login_by != "username":
            if self.queries is not None and self.queries.by_email is None:
                raise LegacyMappingError(
                    f'{src}: [options] login_by = "{self.login_by}" needs [query] by_email, the SELECT '
                    "that finds an account by :email"
                )
            if self.queries is None and self.claim_column("email") is None:
                raise LegacyMappingError(
                    f'{src}: [options] login_by = "{self.login_by}" needs [columns] email, the column '
                    "holding the address people type"
                )
        if self.salt_position not in SALT_POSITIONS:
            raise LegacyMappingError(
                f'{src}: [password] salt_position must be "before" or "after", not {self.salt_position!r}'
            )
        if self.site_salt_env is not None and not _ENV_RE.fullmatch(self.site_salt_env):
            raise LegacyMappingError(
                f"{src}: [password] site_salt_env must be the NAME of an environment variable "
                '(letters, digits, underscores), e.g. "MOODLE_PASSWORDSALTMAIN"; the salt itself '
                "never goes in the mapping file"
            )
        for key, scheme in (("scheme", self.password_scheme), ("hex_scheme", self.hex_scheme)):
            if scheme is not None:
                validate_scheme_name(scheme, where=f"{src}: [password] {key}")
        if self.password_scheme is not None and self.hex_scheme is not None:
            raise LegacyMappingError(
                f"{src}: [password] scheme applies to every row, so hex_scheme would never be used: "
                "keep one of them"
            )

    # -- derived views --

    @property
    def is_query(self) -> bool:
        return self.queries is not None

    @property
    def effective_email_match(self) -> UsernameMatch:
        return self.email_match if self.email_match is not None else self.username_match

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

    def condition_columns(self) -> tuple[tuple[str, str], ...]:
        """(mapping key, column) for every ``[active]`` and ``[state.*]`` condition."""
        pairs = [(f"[active] {c.column}", c.column) for c in self.active]
        for rule in self.states:
            pairs.extend((f"[state.{rule.state}] column", c.column) for c in rule.conditions)
        return tuple(pairs)

    def selected_columns(self) -> tuple[str, ...]:
        """The distinct columns a lookup reads: the mapped ones, then the condition ones."""
        columns = [column for _, column in self.field_columns()]
        columns.extend(column for _, column in self.condition_columns())
        return tuple(dict.fromkeys(columns))

    def has_salt(self) -> bool:
        return self.salt_column is not None or self.site_salt_env is not None


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
        has_table, has_query = "table" in data, "query" in data
        if has_table and has_query:
            raise self.error(
                "give either [table] (one user table) or [query] (custom SELECTs), not both: with [query] "
                "the queries name the tables themselves"
            )
        if not has_query:
            table: str | None = self.table(self.section(data, "table", required=True))
            queries = None
        else:
            table = None
            queries = self.queries(self.section(data, "query", required=True))
        columns = self.columns(self.section(data, "columns", required=True), query_mode=has_query)
        constants = self.constants(self.section(data, "constants", required=False))
        active = self.active(self.section(data, "active", required=False))
        states = self.states(self.section(data, "state", required=False))
        password = self.password(self.section(data, "password", required=False))
        options = self.options(self.section(data, "options", required=False))
        scheme = password.get("scheme")
        legacy_scheme = options.get("password_scheme")
        if scheme is not None and legacy_scheme is not None and scheme != legacy_scheme:
            raise self.error(
                f"[password] scheme = {scheme!r} and [options] password_scheme = {legacy_scheme!r} "
                "disagree: keep [password] scheme only"
            )
        if (
            password.get("salt_position") is not None
            and "salt" not in columns
            and not password.get("site_salt_env")
        ):
            raise self.error(
                "[password] salt_position has no salt to place: add [columns] salt (a per-user salt "
                "column) or [password] site_salt_env, or remove salt_position"
            )
        return Mapping(
            table=table,
            queries=queries,
            id_column=columns["id"],
            username_column=columns["username"],
            password_column=columns["password"],
            salt_column=columns.get("salt"),
            claim_columns=tuple((field, columns[field]) for field in CLAIM_FIELDS if field in columns),
            constants=constants,
            active=active,
            states=states,
            username_match=options.get("username_match", "exact"),
            email_match=options.get("email_match"),
            login_by=options.get("login_by", "username"),
            password_scheme=scheme if scheme is not None else legacy_scheme,
            hex_scheme=password.get("hex_scheme"),
            salt_position=password.get("salt_position") or "after",
            site_salt_env=password.get("site_salt_env"),
            trim_whitespace=bool(password.get("trim_whitespace", False)),
            source=self.source,
        )

    def table(self, section: dict[str, Any]) -> str:
        for key in section:
            if key != "name":
                raise self.unknown("[table]", key, ("name",))
        if "name" not in section:
            raise self.error("[table] needs 'name' — the user table, e.g. name = \"users\"")
        return validate_identifier(section["name"], where=f"{self.source}: [table] name", allow_schema=True)

    def queries(self, section: dict[str, Any]) -> Queries:
        known = ("by_login", "by_email", "by_id", "all")
        for key in section:
            if key not in known:
                raise self.unknown("[query]", key, known)
        for key, help_text in (
            ("by_login", "the SELECT that finds one account by what people type, WHERE ... = :login"),
            ("by_id", "the SELECT that finds one account by its immutable id, WHERE ... = :id"),
            ("all", "the SELECT that lists every account (for audits), without parameters"),
        ):
            if key not in section:
                raise self.error(f"[query] needs {key!r} — {help_text}")
        parsed = {
            key: parse_query(key, value, where=f"{self.source}: [query] {key}")
            for key, value in section.items()
        }
        return Queries(
            by_login=parsed["by_login"],
            by_id=parsed["by_id"],
            all=parsed["all"],
            by_email=parsed.get("by_email"),
        )

    def columns(self, section: dict[str, Any], *, query_mode: bool) -> dict[str, str]:
        known = REQUIRED_FIELDS + OPTIONAL_FIELDS
        for key in section:
            if key not in known:
                raise self.unknown("[columns]", key, known)
        for field in REQUIRED_FIELDS:
            if field not in section:
                what = "result column of the queries" if query_mode else "column"
                help_text = _FIELD_HELP[field].replace("the column", f"the {what}", 1)
                raise self.error(f"[columns] needs {field!r} — {help_text}")
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

    def states(self, section: dict[str, Any]) -> tuple[StateRule, ...]:
        rules = []
        for state, value in section.items():
            if state not in STATE_ORDER:
                raise self.unknown("[state]", state, STATE_ORDER)
            entries = value if isinstance(value, list) else [value]
            if not entries:
                raise self.error(f"[state.{state}] has no condition")
            conditions = tuple(self.condition(f"[state.{state}]", entry) for entry in entries)
            rules.append(StateRule(state, conditions))
        return tuple(sorted(rules, key=lambda rule: STATE_ORDER.index(rule.state)))

    def condition(self, where: str, entry: object) -> Condition:
        example = 'e.g. column = "status" and equals = 0'
        if not isinstance(entry, dict):
            raise self.error(f"{where} must be a table with column and one test ({example}), not {entry!r}")
        for key in entry:
            if key not in _CONDITION_KEYS:
                raise self.unknown(where, key, _CONDITION_KEYS)
        if "column" not in entry:
            raise self.error(f"{where} needs 'column' — the column (or query result column) to test")
        column = validate_identifier(entry["column"], where=f"{self.source}: {where} column")
        operators = [key for key in OPERATORS if key in entry]
        if len(operators) != 1:
            found = ", ".join(operators) if operators else "none"
            raise self.error(f"{where} needs exactly one test of {', '.join(OPERATORS)} (found {found})")
        op = operators[0]
        value = entry[op]
        time_zone = entry.get("time_zone", "UTC")
        if "time_zone" in entry and op not in ("before_now", "after_now"):
            raise self.error(f"{where} time_zone only applies to before_now and after_now")
        validate_time_zone(time_zone, where=f"{self.source}: {where} time_zone")
        if op in ("equals", "not_equals"):
            if not isinstance(value, str | int | bool):
                raise self.error(
                    f"{where} {op} = {value!r}: write one string, integer or boolean as the database "
                    f"stores it ({example}); for several values use in = [...]"
                )
            return Condition(column, op, (value,))
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.error(f"{where} {op} must be a non-empty list, e.g. {op} = [0, 2]")
            for item in value:
                if not isinstance(item, str | int | bool):
                    raise self.error(f"{where} {op}: {item!r} is not a string, integer or boolean")
            return Condition(column, op, tuple(value))
        if not isinstance(value, bool):
            raise self.error(f"{where} {op} must be true or false, not {value!r}")
        if op == "is_null":
            return Condition(column, op, flag=value)
        if not value:
            other = "after_now" if op == "before_now" else "before_now"
            raise self.error(f"{where} {op} = false is not a test: remove it, or write {other} = true")
        return Condition(column, op, time_zone=time_zone)

    def password(self, section: dict[str, Any]) -> dict[str, Any]:
        for key in section:
            if key not in _PASSWORD_KEYS:
                raise self.unknown("[password]", key, _PASSWORD_KEYS)
        result: dict[str, Any] = {}
        for key in ("scheme", "hex_scheme"):
            if key in section:
                result[key] = validate_scheme_name(section[key], where=f"{self.source}: [password] {key}")
        if "salt_position" in section:
            position = section["salt_position"]
            if position not in SALT_POSITIONS:
                raise self.error(
                    f'[password] salt_position must be "before" (salt + password) or "after" '
                    f"(password + salt), not {position!r}"
                )
            result["salt_position"] = position
        if "site_salt_env" in section:
            name = section["site_salt_env"]
            if not isinstance(name, str) or not _ENV_RE.fullmatch(name):
                raise self.error(
                    "[password] site_salt_env must be the NAME of an environment variable (letters, "
                    'digits, underscores), e.g. site_salt_env = "MOODLE_PASSWORDSALTMAIN"; the salt '
                    "itself never goes in the mapping file"
                )
            result["site_salt_env"] = name
        if "trim_whitespace" in section:
            trim = section["trim_whitespace"]
            if not isinstance(trim, bool):
                raise self.error(f"[password] trim_whitespace must be true or false, not {trim!r}")
            result["trim_whitespace"] = trim
        return result

    def options(self, section: dict[str, Any]) -> dict[str, Any]:
        for key in section:
            if key not in _OPTION_KEYS:
                raise self.unknown("[options]", key, _OPTION_KEYS)
        result: dict[str, Any] = {}
        for key in ("username_match", "email_match"):
            if key in section:
                match = section[key]
                if match not in USERNAME_MATCHES:
                    raise self.error(f'[options] {key} must be "exact" or "case-insensitive", not {match!r}')
                result[key] = match
        if "login_by" in section:
            login_by = section["login_by"]
            if login_by not in LOGIN_BY:
                raise self.error(
                    f'[options] login_by must be "username", "email" or "username_or_email", not {login_by!r}'
                )
            result["login_by"] = login_by
        if "password_scheme" in section:
            result["password_scheme"] = validate_scheme_name(
                section["password_scheme"], where=f"{self.source}: [options] password_scheme"
            )
        return result
