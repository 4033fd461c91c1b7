"""The SQL implementation of the legacy user source: the only code that knows the legacy schema.

``SqlUserSource(database_url, mapping)`` looks accounts up in the portal's database, read-only:

* SQL is built once, from the validated mapping: identifiers are validated (mapping.py) and quoted
  by the dialect; every value is a bound parameter. Custom ``[query]`` SELECTs (query.py) are
  rendered with the driver's placeholder and wrapped as ``SELECT * FROM (<query>) AS bridge_q
  LIMIT 2``. At most two rows are fetched, and two rows are a :class:`DuplicateLegacyUser` (never
  "pick the first").
* Nothing is ever written. SQLite files are opened with ``mode=ro`` and ``PRAGMA query_only``;
  PostgreSQL sessions start with ``default_transaction_read_only=on`` (verified after connecting);
  MySQL/MariaDB sessions run ``SET SESSION TRANSACTION READ ONLY`` (verified too). All run in
  autocommit, so no transaction is ever left open. Give the bridge a database role that may only
  SELECT the user tables as well (the tests run under one).
* Ids are bound as text and compared with the id column as it is (``WHERE "uid" = %s``), never with
  ``CAST(col AS TEXT)``, so an integer primary key is still looked up through its index. An id the
  column type cannot represent (``"abc"`` for an integer column) means "no such account". The
  row's id, rendered as text, must then equal the requested id exactly, so ``"05"`` or ``" 5"`` do
  not find account ``5``.
* Logins that no one can type (empty, containing NUL, not encodable as UTF-8) are "not found"
  without a query.
* ``username_match = "exact"`` is exact on every database: on MySQL/MariaDB, whose usual
  collations ignore case, accents and trailing spaces, the lookup adds a binary comparison
  (``col = ? AND CAST(CONVERT(col USING utf8mb4) AS BINARY) = CAST(? AS BINARY)``; the first
  conjunct keeps the index). ``"case-insensitive"`` compares ``lower(col) = lower(?)`` with the
  database's own ``lower()``; index it (PostgreSQL: ``CREATE INDEX ... (lower(name))``).
* ``login_by = "username_or_email"`` looks the username up first and, only when nothing matches
  and the login contains "@", the e-mail address (as WordPress does): one indexed query for a
  username, two for an address.
* ``iter_all()`` pages through every account by keyset on the id (``WHERE id > last ORDER BY id
  LIMIT n``): every batch is a short query under the statement timeout, the connection is free
  between batches, and rows added or removed meanwhile do not shift pages. Rows that cannot be
  mapped are reported to an ``errors`` callback, never raised.
* Connections: one per thread, reused; a connection that breaks is replaced once per call; a
  connection inherited through ``fork()`` is never used (nor closed) by the child.
* Failures: unreachable database, timeout or driver OperationalError → LegacySourceUnavailable
  (messages never contain the password); a missing table or column, or a failing custom query →
  LegacyMappingError naming the mapping key; anything else is a bug and propagates unchanged.

Adding a database is one :class:`~accounts.legacy.dialects.Dialect` subclass registered in
``dialects._DIALECTS`` (see docs/legacy-mapping.md, "Adding a database driver").
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from accounts.legacy import (
    DuplicateLegacyUser,
    LegacyMappingError,
    LegacyRowError,
    LegacyRowUnreadable,
    LegacySourceUnavailable,
    LegacyUser,
)
from accounts.legacy.conditions import UnreadableTime, parse_time
from accounts.legacy.dialects import (
    MAX_ROWS,
    QUERY_ALIAS,
    Dialect,
    Failure,
    MysqlDialect,
    PostgresDialect,
    Row,
    SqliteDialect,
    dialect_for_url,
)
from accounts.legacy.mapping import Mapping
from accounts.legacy.query import ParsedQuery
from idp_bridge.errors import ConfigurationError
from idp_bridge.metrics import legacy_query_timer

__all__ = [
    "Dialect",
    "Failure",
    "MysqlDialect",
    "PostgresDialect",
    "SqlUserSource",
    "SqliteDialect",
    "dialect_for_url",
]

logger = logging.getLogger(__name__)

MAX_BATCH = 100_000


# --- the source ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Held:
    conn: Any
    pid: int = field(default_factory=os.getpid)
    closed: bool = False


@dataclass(frozen=True)
class _Statement:
    """One SQL statement and the names of the values bound to its placeholders, in order."""

    sql: str
    params: tuple[str, ...] = ()

    def values(self, **bound: object) -> tuple[object, ...]:
        return tuple(bound[name] for name in self.params)


_HEX: Final = re.compile(r"[0-9A-Fa-f]+")
_TIME_OPERATORS: Final = ("before_now", "after_now")


def _text(value: object) -> str | None:
    """A column value as text; NULL, empty and all-blank (a padded CHAR(n) '') become None."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8", "surrogateescape")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    return text if text.strip() else None


def _typeable(value: str) -> bool:
    """Whether anybody could type ``value``: non-empty, no NUL, encodable as UTF-8."""
    if not value or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resolve_labels(names: Sequence[str], wanted: Sequence[str]) -> dict[str, int]:
    """Where each wanted column is among result ``names``: exact match, else the only one that
    matches ignoring case (PostgreSQL folds unquoted aliases to lower case). Missing: absent."""
    exact = {name: index for index, name in enumerate(names)}
    folded: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        folded.setdefault(name.lower(), []).append(index)
    found = {}
    for column in wanted:
        if column in exact:
            found[column] = exact[column]
        elif len(folded.get(column.lower(), ())) == 1:
            found[column] = folded[column.lower()][0]
    return found


class SqlUserSource:
    """A read-only :class:`~accounts.legacy.LegacyUserSource` over a SQL database."""

    def __init__(
        self,
        database_url: str,
        mapping: Mapping,
        *,
        connect_timeout: float = 5,
        statement_timeout: float = 5,
        environ: dict[str, str] | None = None,
    ) -> None:
        for name, value in (("connect_timeout", connect_timeout), ("statement_timeout", statement_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}")
        self._mapping = mapping
        self._site_salt = self._read_site_salt(mapping, os.environ if environ is None else environ)
        self._dialect: Dialect[Any] = dialect_for_url(
            database_url, connect_timeout=float(connect_timeout), statement_timeout=float(statement_timeout)
        )
        self._columns = mapping.selected_columns()
        self._table_sql: str | None = None
        self._select_sql: str | None = None
        if mapping.queries is None:
            self._build_table_statements()
        else:
            self._build_query_statements()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._inherited: list[_Held] = []  # from a parent process: never used, never closed here

    @staticmethod
    def _read_site_salt(mapping: Mapping, environ: Any) -> str | None:
        name = mapping.site_salt_env
        if name is None:
            return None
        value = environ.get(name)
        if value is None or value.strip() == "":
            raise LegacyMappingError(
                f"{mapping.source}: [password] site_salt_env = {name!r}, but the environment variable "
                f"{name} is {'not set' if value is None else 'empty'}: set it to the portal's site salt "
                "(for Moodle, $CFG->passwordsaltmain from config.php)"
            )
        return str(value)

    def _build_table_statements(self) -> None:
        m, d = self._mapping, self._dialect
        assert m.table is not None
        select = ", ".join(d.quote(column) for column in self._columns)
        table = d.quote(m.table)
        ident = d.quote(m.id_column)

        def lookup(column: str, match: str, param: str) -> _Statement:
            test, uses = d.exact_equals(d.quote(column)) if match == "exact" else d.ci_equals(d.quote(column))
            return _Statement(f"SELECT {select} FROM {table} WHERE {test} LIMIT {MAX_ROWS}", (param,) * uses)  # noqa: S608

        # Identifiers: validated by mapping.py and quoted by the dialect. Values: bound parameters.
        self._table_sql = table
        self._select_sql = select
        self._by_login = lookup(m.username_column, m.username_match, "login")
        email = m.claim_column("email")
        self._by_email = lookup(email, m.effective_email_match, "email") if email is not None else None
        self._by_id = _Statement(
            f"SELECT {select} FROM {table} WHERE {ident} = {d.placeholder} LIMIT {MAX_ROWS}",  # noqa: S608
            ("id",),
        )
        self._all_first = f"SELECT {select} FROM {table} WHERE {ident} IS NOT NULL ORDER BY {ident} LIMIT "  # noqa: S608
        self._all_after = (
            f"SELECT {select} FROM {table} WHERE {ident} > {d.placeholder} ORDER BY {ident} LIMIT "  # noqa: S608
        )
        self._all_from = (
            f"SELECT {select} FROM {table} WHERE {ident} >= {d.placeholder} ORDER BY {ident} LIMIT "  # noqa: S608
        )
        self._all_null = f"SELECT {select} FROM {table} WHERE {ident} IS NULL LIMIT "  # noqa: S608
        self._count_sql = f"SELECT count(*) FROM {table}"  # noqa: S608
        self._all_source = table

    def _build_query_statements(self) -> None:
        m, d = self._mapping, self._dialect
        q = m.queries
        assert q is not None

        def wrapped(query: ParsedQuery) -> _Statement:
            # A newline before ")" ends any trailing "--" comment in the user's text.
            sql = f"SELECT * FROM (\n{d.render(query)}\n) AS {QUERY_ALIAS} LIMIT {MAX_ROWS}"  # noqa: S608
            return _Statement(sql, query.parameters)

        self._by_login = wrapped(q.by_login)
        self._by_email = wrapped(q.by_email) if q.by_email is not None else None
        self._by_id = wrapped(q.by_id)
        self._all_source = f"(\n{d.render(q.all)}\n) AS {QUERY_ALIAS}"
        self._count_sql = f"SELECT count(*) FROM {self._all_source}"  # noqa: S608
        # The keyset statements (each ends in "LIMIT ", the page size is appended) need the id
        # column's real label: built on first use.
        self._all_first = self._all_after = self._all_from = self._all_null = ""

    # Kept for tests and tools that show the SQL.
    @property
    def _by_login_sql(self) -> str:
        return self._by_login.sql

    @property
    def _by_id_sql(self) -> str:
        return self._by_id.sql

    def __repr__(self) -> str:
        where = self._mapping.table if self._mapping.table is not None else "[query]"
        return f"SqlUserSource({self._dialect.description}, table={where!r})"

    @property
    def mapping(self) -> Mapping:
        return self._mapping

    @property
    def description(self) -> str:
        """The database in words (no password), for logs and admin pages."""
        return self._dialect.description

    # -- the contract --

    def get_by_login(self, login: str) -> LegacyUser | None:
        if not _typeable(login):
            return None
        by = self._mapping.login_by
        if by == "email":
            return self._lookup_email(login)
        user = self._single(self._run(self._by_login, login=login), "login")
        if user is None and by == "username_or_email" and "@" in login:
            user = self._lookup_email(login)
        return user

    def _lookup_email(self, login: str) -> LegacyUser | None:
        assert self._by_email is not None  # the mapping guarantees it for login_by email
        return self._single(self._run(self._by_email, email=login), "email")

    def get_by_id(self, legacy_id: str) -> LegacyUser | None:
        if not _typeable(legacy_id):
            return None
        names, rows = self._run(self._by_id, id=legacy_id)
        if not rows:
            return None
        # The database may coerce ("05" or " 5" to 5): only the exact id is this account.
        index = self._index(names)[self._mapping.id_column]
        rows = [row for row in rows if _text(row[index]) == legacy_id]
        return self._single((names, rows), "id")

    def iter_all(
        self, batch_size: int = 1000, *, errors: Callable[[LegacyRowError], None] | None = None
    ) -> Iterator[LegacyUser]:
        """Every account in id order, by keyset pages of ``batch_size`` rows (see the module doc).

        A row that cannot be mapped is passed to ``errors`` as a :class:`LegacyRowError` (logged
        as a warning when ``errors`` is None) and skipped: a row without an id or without a
        username, or an id that several rows share (a non-unique id column, or a join in
        ``[query] all`` that multiplies rows). Raises LegacySourceUnavailable on an outage.
        """
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= MAX_BATCH
        ):
            raise ValueError(f"batch_size must be an integer from 1 to {MAX_BATCH}, not {batch_size!r}")
        report = errors if errors is not None else self._log_row_error
        self._prepare_keyset()
        id_column = self._mapping.id_column
        limit = batch_size + 1  # one row more than a page, to see whether the last id goes on
        sql, params = self._all_first + str(limit), cast(tuple[object, ...], ())
        while True:
            names, rows = self._run_sql(sql, params, limit)
            position = self._index(names)[id_column]
            page = rows[:batch_size]
            groups: list[list[Row]] = []
            for row in page:
                if groups and groups[-1][0][position] == row[position]:
                    groups[-1].append(row)
                else:
                    groups.append([row])
            more = len(rows) > batch_size
            if more:
                last = page[-1][position]
                if rows[batch_size][position] != last:
                    sql, params = self._all_after + str(limit), (last,)
                elif len(groups) > 1:
                    # The last id goes on past the page: read its rows again, whole, from there.
                    groups.pop()
                    sql, params = self._all_from + str(limit), (last,)
                else:
                    # More than a whole page shares one id: report it and move past it.
                    groups[0].append(rows[batch_size])
                    sql, params = self._all_after + str(limit), (last,)
            for group in groups:
                yield from self._emit(names, group, report)
            if not more:
                break
        self._report_null_ids(batch_size, report)

    def count(self) -> int:
        """How many rows the whole listing has (the table, or ``[query] all``), bad rows included."""
        _, rows = self._run_sql(self._count_sql, (), 1)
        return int(rows[0][0])

    def check(self) -> list[str]:
        """Run the mapping against the live database; plain-language problems, [] if none.

        Reports a missing table or column (and the columns that do exist), a custom query that
        fails or lacks a mapped result column, a column of the wrong type (a non-text password or
        salt, a time condition on a column that holds no times), an id that finds several rows,
        and an explicit scheme name the hash registry does not know. An unreachable database
        raises LegacySourceUnavailable instead: that is an outage to wait out (a start-up
        warning), not a mistake in the mapping (a start-up error).
        """
        try:
            held, _ = self._acquire()
        except ConfigurationError as exc:
            return [str(exc)]
        problems = self._diagnose(held)
        if not problems:
            problems = self._check_data(held)
        return problems + self._check_schemes()

    def close(self) -> None:
        """Close every connection this source opened in this process (call when no lookup runs)."""
        with self._lock:
            held, self._held = self._held, []
        for entry in held:
            entry.closed = True
            with contextlib.suppress(*self._dialect.driver_errors):
                self._dialect.close(entry.conn)
        self._local.__dict__.clear()

    # -- rows to users --

    def _index(self, names: Sequence[str]) -> dict[str, int]:
        """Where each selected column is in a result with these column names."""
        if self._mapping.queries is None:
            return {column: index for index, column in enumerate(self._columns)}
        found = _resolve_labels(names, self._columns)
        missing = [column for column in self._columns if column not in found]
        if missing:
            raise LegacyMappingError(
                f"{self._mapping.source}: the [query] result has no column {missing[0]!r} (its columns: "
                f"{', '.join(names)}); name it with AS in the SELECT, or fix [columns]"
            )
        return found

    def _single(self, result: tuple[tuple[str, ...], list[Row]], by: str) -> LegacyUser | None:
        names, rows = result
        if not rows:
            logger.debug("legacy lookup by %s: not found", by)
            return None
        index = self._index(names)
        if len(rows) > 1:
            ids = [_text(row[index[self._mapping.id_column]]) or "?" for row in rows]
            logger.warning(
                "legacy lookup by %s: %d or more accounts match (ids %s)", by, len(rows), ", ".join(ids)
            )
            if len(set(ids)) == 1 and self._mapping.queries is not None:
                message = (
                    f"the [query] lookup by {by} returns {len(rows)} rows for the one account {ids[0]}: a "
                    "join multiplies its rows; an admin must fix the query in the mapping file"
                )
            else:
                message = (
                    f"more than one legacy account matches this {by} (ids {', '.join(ids)}): an admin "
                    "must rename one in the portal or resolve the conflict in the bridge"
                )
            raise DuplicateLegacyUser(message, legacy_ids=ids, by=by)
        user = self._to_user(rows[0], index)
        if isinstance(user, LegacyRowError):
            logger.warning("legacy lookup by %s: unusable row (%s): treated as absent", by, user.problem)
            return None
        logger.debug("legacy lookup by %s: found id %s", by, user.legacy_id)
        return user

    def _to_user(
        self, row: Row, index: dict[str, int], now: datetime | None = None
    ) -> LegacyUser | LegacyRowError:
        m = self._mapping

        def value(column: str) -> object:
            return row[index[column]]

        legacy_id = _text(value(m.id_column))
        username = _text(value(m.username_column))
        if legacy_id is None:
            return LegacyRowError(None, username, f"no id ([columns] id = {m.id_column!r} is NULL or empty)")
        if username is None:
            return LegacyRowError(
                legacy_id, None, f"no username ([columns] username = {m.username_column!r} is NULL or empty)"
            )

        def claim(field: str) -> str | None:
            column = m.claim_column(field)
            text = _text(value(column)) if column is not None else None
            return text if text is not None else m.constant(field)

        password_hash = _text(value(m.password_column))
        scheme = m.password_scheme
        if scheme is None and m.hex_scheme is not None and password_hash and _HEX.fullmatch(password_hash):
            scheme = m.hex_scheme
        state, reason = self._state(value, now or datetime.now(UTC))
        return LegacyUser(
            legacy_id=legacy_id,
            username=username,
            password_hash=password_hash,
            salt=_text(value(m.salt_column)) if m.salt_column is not None else None,
            email=claim("email"),
            name=claim("name"),
            given_name=claim("given_name"),
            family_name=claim("family_name"),
            organization=claim("organization"),
            password_scheme=scheme,
            site_salt=self._site_salt,
            salt_position=m.salt_position,
            trim_password=m.trim_whitespace,
            state=state,
            state_reason=reason,
        )

    def _state(self, value: Callable[[str], object], now: datetime) -> tuple[str, str | None]:
        m = self._mapping
        for rule in m.states:  # in STATE_ORDER: the most final state wins
            for condition in rule.conditions:
                holds, note = condition.evaluate(value(condition.column), now)
                if holds:
                    reason = f"[state.{rule.state}] {condition.describe()}"
                    return rule.state, f"{reason} ({note})" if note else reason
        for active in m.active:
            if not active.holds(value(active.column)):
                return "inactive", f"[active] {active.describe()} does not hold"
        return "active", None

    def _emit(
        self, names: Sequence[str], group: list[Row], report: Callable[[LegacyRowError], None]
    ) -> Iterator[LegacyUser]:
        index = self._index(names)
        if len(group) > 1:
            m = self._mapping
            first = group[0]
            where = "[query] all" if m.queries is not None else f"table {m.table!r}"
            report(
                LegacyRowError(
                    _text(first[index[m.id_column]]),
                    _text(first[index[m.username_column]]),
                    f"several rows in {where} ({len(group)} seen) share this id: the id must be unique "
                    "(a join that multiplies rows, or a non-unique [columns] id)",
                )
            )
            return
        user = self._to_user(group[0], index)
        if isinstance(user, LegacyRowError):
            report(user)
        else:
            yield user

    def _report_null_ids(self, batch_size: int, report: Callable[[LegacyRowError], None]) -> None:
        """Rows without an id never enter the keyset pages: report them (up to a page) apart."""
        names, rows = self._run_sql(self._all_null + str(batch_size + 1), (), batch_size + 1)
        index = self._index(names)
        for row in rows[:batch_size]:
            error = self._to_user(row, index)
            if isinstance(error, LegacyRowError):
                report(error)
        if len(rows) > batch_size:
            report(
                LegacyRowError(
                    None, None, f"more than {batch_size} rows have no id; only the first were listed"
                )
            )

    def _log_row_error(self, error: LegacyRowError) -> None:
        logger.warning("legacy row %s cannot be used: %s", error.legacy_id, error.problem)

    def _prepare_keyset(self) -> None:
        if self._all_first:
            return
        d = self._dialect
        names, _ = self._run_sql(f"SELECT * FROM {self._all_source} WHERE 1 = 0", (), 0)  # noqa: S608
        found = _resolve_labels(names, [self._mapping.id_column])
        if self._mapping.id_column not in found:
            raise LegacyMappingError(
                f"{self._mapping.source}: [query] all returns no column {self._mapping.id_column!r} "
                f"([columns] id); its columns: {', '.join(names)}"
            )
        label = names[found[self._mapping.id_column]]
        ident = f"{QUERY_ALIAS}.{d.quote(label)}"
        src, ph = self._all_source, d.placeholder
        self._all_first = f"SELECT * FROM {src} WHERE {ident} IS NOT NULL ORDER BY {ident} LIMIT "  # noqa: S608
        self._all_after = f"SELECT * FROM {src} WHERE {ident} > {ph} ORDER BY {ident} LIMIT "  # noqa: S608
        self._all_from = f"SELECT * FROM {src} WHERE {ident} >= {ph} ORDER BY {ident} LIMIT "  # noqa: S608
        self._all_null = f"SELECT * FROM {src} WHERE {ident} IS NULL LIMIT "  # noqa: S608

    # -- connections and queries --

    def _acquire(self) -> tuple[_Held, bool]:
        """This thread's connection and whether it is new. Raises LegacySourceUnavailable."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and held.pid != os.getpid():
            self._inherited.append(held)  # the parent's socket: closing it would end the parent's session
            held = None
        if held is not None and not held.closed:
            return held, False
        try:
            conn = self._dialect.connect()
        except self._dialect.driver_errors as exc:
            if self._dialect.classify(exc, None) is Failure.BUG:
                raise
            raise self._unavailable(exc) from exc
        held = _Held(conn)
        with self._lock:
            self._held.append(held)
        self._local.held = held
        return held, True

    def _discard(self, held: _Held) -> None:
        held.closed = True
        with self._lock:
            if held in self._held:
                self._held.remove(held)
        if getattr(self._local, "held", None) is held:
            del self._local.held
        with contextlib.suppress(*self._dialect.driver_errors):
            self._dialect.close(held.conn)

    def _unavailable(self, exc: Exception) -> LegacySourceUnavailable:
        message = (
            f"legacy database unavailable ({self._dialect.description}): {self._dialect.failure_message(exc)}"
        )
        logger.warning("%s", message)
        return LegacySourceUnavailable(message)

    def _run(self, statement: _Statement, **bound: object) -> tuple[tuple[str, ...], list[Row]]:
        return self._run_sql(statement.sql, statement.values(**bound), MAX_ROWS)

    def _run_sql(
        self, sql: str, params: Sequence[object], max_rows: int
    ) -> tuple[tuple[str, ...], list[Row]]:
        for attempt in (1, 2):
            held, fresh = self._acquire()
            try:
                with legacy_query_timer():  # idp_bridge_legacy_query_seconds (docs/operations.md)
                    return self._dialect.fetch(held.conn, sql, params, max_rows)
            except self._dialect.driver_errors as exc:
                failure = self._dialect.classify(exc, held.conn)
                if failure is Failure.BROKEN:
                    self._discard(held)
                    if fresh or attempt == 2:
                        raise self._unavailable(exc) from exc
                    logger.info("legacy database connection lost; reconnecting once")
                    continue
                if failure is Failure.NO_MATCH:
                    return (), []
                if failure is Failure.UNREADABLE:
                    raise LegacyRowUnreadable(
                        f"{self._mapping.source}: a matching legacy row holds a value the driver cannot "
                        f"load ({self._dialect.failure_message(exc)}); fix the value or convert it in a [query]"
                    ) from exc
                if failure is Failure.UNAVAILABLE:
                    raise self._unavailable(exc) from exc
                if failure is Failure.MAPPING:
                    problems = self._diagnose(held)
                    detail = "; ".join(problems) or (
                        f"{self._mapping.source}: the legacy database rejected the lookup "
                        f"({self._where()}): {self._dialect.failure_message(exc)}"
                    )
                    raise LegacyMappingError(detail) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _where(self) -> str:
        m = self._mapping
        return f"table {m.table!r}" if m.table is not None else "[query]"

    def _probe_on(
        self, held: _Held, sql: str, params: Sequence[object], max_rows: int = 0
    ) -> tuple[tuple[str, ...], Exception | None]:
        """Run ``sql``: (column names, None) or ((), the driver error). Bugs propagate."""
        try:
            return self._dialect.fetch(held.conn, sql, params, max_rows)[0], None
        except self._dialect.driver_errors as exc:
            if self._dialect.classify(exc, held.conn) is Failure.BUG:
                raise
            return (), exc

    def _probe(self, held: _Held, select: str) -> tuple[tuple[str, ...], Exception | None]:
        """Run ``SELECT <select> FROM <table> WHERE 1 = 0``: (column names, None) or ((), error)."""
        sql = f"SELECT {select} FROM {self._table_sql} WHERE 1 = 0"  # noqa: S608 - quoted identifiers only
        return self._probe_on(held, sql, ())

    def _outage(self, held: _Held, error: Exception) -> list[str] | None:
        """[the outage in words] if ``error`` is an outage (discarding a dead connection), else None."""
        failure = self._dialect.classify(error, held.conn)
        if failure not in (Failure.UNAVAILABLE, Failure.BROKEN):
            return None
        if failure is Failure.BROKEN:
            self._discard(held)
        return [str(self._unavailable(error))]

    def _diagnose(self, held: _Held) -> list[str]:
        if self._mapping.queries is not None:
            return self._diagnose_queries(held)
        m, d = self._mapping, self._dialect
        existing, error = self._probe(held, "*")
        if error is not None:
            outage = self._outage(held, error)
            if outage is not None:
                return outage
            if d.is_missing_table(error):
                return [
                    f"{m.source}: [table] name = {m.table!r}: no such table in {d.description} (names are "
                    "matched exactly as the database stores them; schema-qualify it if it is not on the "
                    "search path)"
                ]
            return [f"{m.source}: [table] name = {m.table!r}: cannot read it: {d.failure_message(error)}"]
        problems = []
        keys = [(f"[columns] {name}", column) for name, column in m.field_columns()]
        keys += list(m.condition_columns())
        for key, column in dict.fromkeys(keys):
            _, error = self._probe(held, d.quote(column))
            if error is None:
                continue
            if column in existing:
                problems.append(f"{m.source}: {key} = {column!r}: cannot read it: {d.failure_message(error)}")
                continue
            hint = ""
            near = [name for name in existing if name.lower() == column.lower()]
            if near:
                hint = f" — did you mean {near[0]!r}? names are case-sensitive"
            problems.append(
                f"{m.source}: {key} = {column!r}: table {m.table!r} has no such column{hint} "
                f"(its columns: {', '.join(existing)})"
            )
        if not problems:
            _, error = self._probe(held, self._select_sql or "*")
            if error is not None:
                problems.append(f"{m.source}: the lookup query fails: {d.failure_message(error)}")
        return problems

    def _query_probes(self) -> list[tuple[str, str, tuple[object, ...]]]:
        """(key, SQL returning no rows, parameters) for each custom query."""
        q = self._mapping.queries
        assert q is not None
        d = self._dialect
        samples = {"login": "", "email": "", "id": "0"}
        probes: list[tuple[str, str, tuple[object, ...]]] = []
        for query in q.items():
            sql = f"SELECT * FROM (\n{d.render(query)}\n) AS {QUERY_ALIAS} WHERE 1 = 0"  # noqa: S608
            probes.append((query.key, sql, tuple(samples[name] for name in query.parameters)))
        return probes

    def _diagnose_queries(self, held: _Held) -> list[str]:
        m = self._mapping
        problems = []
        keys = [(f"[columns] {name}", column) for name, column in m.field_columns()]
        keys += list(m.condition_columns())
        for key, sql, params in self._query_probes():
            names, error = self._probe_on(held, sql, params)
            if error is not None:
                outage = self._outage(held, error)
                if outage is not None:
                    return outage
                if self._dialect.classify(error, held.conn) is Failure.NO_MATCH:
                    continue  # the sample parameter does not fit the column type: not a query problem
                problems.append(f"{m.source}: [query] {key} fails: {self._dialect.failure_message(error)}")
                continue
            found = _resolve_labels(names, [column for _, column in keys])
            for mapping_key, column in dict.fromkeys(keys):
                if column not in found:
                    problems.append(
                        f"{m.source}: {mapping_key} = {column!r}: [query] {key} returns no such column "
                        f"(its columns: {', '.join(names)}); name it with AS in the SELECT"
                    )
        return problems

    # -- check(): types and a sample row --

    def _check_data(self, held: _Held) -> list[str]:
        m, d = self._mapping, self._dialect
        if m.queries is None:
            describe_sql = f"SELECT {self._select_sql} FROM {self._table_sql} WHERE 1 = 0"  # noqa: S608
        else:
            describe_sql = f"SELECT * FROM {self._all_source} WHERE 1 = 0"  # noqa: S608
        try:
            described = d.describe(held.conn, describe_sql, ())
            self._prepare_keyset()
            names, sample = d.fetch(held.conn, self._all_first + "1", (), 1)
        except d.driver_errors as exc:
            outage = self._outage(held, exc)
            if outage is not None:
                return outage
            if d.classify(exc, held.conn) is Failure.BUG:
                raise
            return [f"{m.source}: reading {self._where()} fails: {d.failure_message(exc)}"]
        index = self._index(names) if sample else {}
        labels = [name for name, _ in described]
        kinds = {column: described[i][1] for column, i in _resolve_labels(labels, self._columns).items()}
        problems = self._check_kinds(kinds, sample[0] if sample else None, index)
        if sample and not problems:
            problems += self._check_sample(held, sample[0], index)
        return problems

    def _check_kinds(self, kinds: dict[str, str], row: Row | None, index: dict[str, int]) -> list[str]:
        m = self._mapping

        def kind_of(column: str) -> str:
            kind = kinds.get(column, "unknown")
            if kind == "unknown" and row is not None:
                value = row[index[column]]
                if isinstance(value, str | bytes):
                    kind = "text"
                elif isinstance(value, bool):
                    kind = "boolean"
                elif isinstance(value, int):
                    kind = "integer"
                elif isinstance(value, float):
                    kind = "number"
            return kind

        problems = []
        text_fields = [("[columns] password", m.password_column, "a password hash")]
        if m.salt_column is not None:
            text_fields.append(("[columns] salt", m.salt_column, "a salt"))
        for key, column, what in text_fields:
            kind = kind_of(column)
            if kind not in ("text", "unknown"):
                problems.append(
                    f"{m.source}: {key} = {column!r} is a {kind} column, but {what} is text: map the "
                    "column that holds the text (VARCHAR, CHAR, TEXT, VARBINARY, BLOB, bytea)"
                )
        for rule in m.states:
            for condition in rule.conditions:
                if condition.operator not in _TIME_OPERATORS:
                    continue
                kind = kind_of(condition.column)
                if kind in ("boolean", "other"):
                    problems.append(
                        f"{m.source}: [state.{rule.state}] column = {condition.column!r} is a {kind} column, "
                        f"but {condition.operator} needs times: a DATE, DATETIME or TIMESTAMP column, a "
                        "Unix timestamp number, or text holding ISO 8601 dates"
                    )
                elif kind in ("text", "unknown") and row is not None:
                    try:
                        parse_time(row[index[condition.column]], UTC)
                    except UnreadableTime as exc:
                        problems.append(
                            f"{m.source}: [state.{rule.state}] column = {condition.column!r} holds {exc} "
                            f"(in the row with id {_text(row[index[m.id_column]])}), but {condition.operator} "
                            "needs times: DATE/DATETIME/TIMESTAMP, Unix seconds, or ISO 8601 text"
                        )
        return problems

    def _check_sample(self, held: _Held, row: Row, index: dict[str, int]) -> list[str]:
        """Look the first account up again by id and by login: one row each, the same account."""
        m, d = self._mapping, self._dialect
        problems: list[str] = []
        native_id = row[index[m.id_column]]
        legacy_id = _text(native_id)
        username = _text(row[index[m.username_column]])
        if legacy_id is None:
            return problems
        where = "[query] by_id" if m.queries is not None else f"[columns] id = {m.id_column!r}"
        try:
            names, rows = d.fetch(held.conn, self._by_id.sql, self._by_id.values(id=legacy_id), MAX_ROWS)
            rows = [r for r in rows if _text(r[self._index(names)[m.id_column]]) == legacy_id]
            if not rows:
                problems.append(
                    f"{m.source}: {where} does not find the account with id {legacy_id}, which the listing "
                    f"({'[query] all' if m.queries is not None else 'the table'}) returns"
                )
            elif len(rows) > 1:
                problems.append(
                    f"{m.source}: {where} finds several rows for the one id {legacy_id}: a lookup must "
                    "return exactly one row per account (a join that multiplies rows, or an id column "
                    "that is not unique)"
                )
            if username is not None and _typeable(username):
                names, rows = d.fetch(
                    held.conn, self._by_login.sql, self._by_login.values(login=username), MAX_ROWS
                )
                ids = [_text(r[self._index(names)[m.id_column]]) for r in rows] if rows else []
                if len(ids) > 1 and len(set(ids)) == 1:
                    problems.append(
                        f"{m.source}: [query] by_login returns {len(ids)} rows for the one account "
                        f"{legacy_id}: a join multiplies rows; each account must come back once"
                    )
        except d.driver_errors as exc:
            outage = self._outage(held, exc)
            if outage is not None:
                return outage
            if d.classify(exc, held.conn) is Failure.BUG:
                raise
            if d.classify(exc, held.conn) is not Failure.NO_MATCH:
                problems.append(f"{m.source}: looking up the first account fails: {d.failure_message(exc)}")
        return problems

    def _check_schemes(self) -> list[str]:
        m = self._mapping
        named = [
            (key, value)
            for key, value in (("scheme", m.password_scheme), ("hex_scheme", m.hex_scheme))
            if value
        ]
        if not named:
            return []
        from accounts.hashers import known_schemes  # the one hashers import allowed here

        known = known_schemes()
        return [
            f"{m.source}: [password] {key} = {value!r} is not a scheme the bridge knows (known: {', '.join(known)})"
            for key, value in named
            if value not in known
        ]
