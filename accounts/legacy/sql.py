"""The SQL implementation of the legacy user source: the only code that knows the legacy schema.

``SqlUserSource(database_url, mapping)`` looks accounts up in the portal's user table, read-only:

* SQL is built once, from the validated mapping: identifiers are validated (mapping.py) and quoted
  by the dialect; every value is a bound parameter. Only the mapped columns are selected, at most
  two rows are fetched, and two rows are a :class:`DuplicateLegacyUser` (never "pick the first").
* Nothing is ever written. SQLite files are opened with ``mode=ro`` and ``PRAGMA query_only``;
  PostgreSQL sessions start with ``default_transaction_read_only=on`` (verified after connecting)
  and run in autocommit, so no transaction is ever left open. Give the bridge a database role that
  may only SELECT the user table as well.
* Ids are bound as text and compared with the id column as it is (``WHERE "uid" = %s``), never with
  ``CAST(col AS TEXT)``: PostgreSQL receives the parameter with an unknown type and resolves it to
  the column's type, so an integer primary key is still looked up through its index; SQLite
  applies the column's INTEGER affinity to the text. An id the column type cannot represent
  (``"abc"`` for an integer column) is a DataError there, which means "no such account". The row's
  id, rendered as text, must then equal the requested id exactly, so ``"05"`` or ``" 5"`` do not
  find account ``5``.
* Logins that no one can type (empty, containing NUL, not encodable as UTF-8) are "not found"
  without a query; PostgreSQL would reject NUL in a text parameter anyway.
* ``username_match = "case-insensitive"`` compares ``lower(column) = lower(%s)`` with the
  database's own ``lower()`` (so it behaves as the portal's database does; SQLite's lower() folds
  ASCII only). On PostgreSQL, index it with ``CREATE INDEX ... ON users (lower(name))``.
* Connections: one per thread, reused; a connection that breaks is replaced once per call; a
  connection inherited through ``fork()`` is never used (nor closed) by the child.
* Failures: unreachable database, timeout or driver OperationalError → LegacySourceUnavailable
  (messages never contain the password); a missing table or column → LegacyMappingError naming the
  mapping key; anything else is a bug and propagates unchanged.

Adding a database is one small :class:`Dialect` subclass registered in ``_DIALECTS``: for
MySQL/MariaDB with PyMySQL that is ``placeholder = "%s"``, ``quote_char = "`"``, ``connect`` with
``connect_timeout``/``read_timeout`` and ``init_command="SET SESSION TRANSACTION READ ONLY,
SESSION max_execution_time=<ms>"`` (MariaDB: ``max_statement_time``), ``autocommit=True``, and
``classify`` mapping error 1146/1054 to MAPPING, 2003/2006/2013 to BROKEN/UNAVAILABLE, 1366 to
NO_MATCH.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from accounts.legacy import (
    DuplicateLegacyUser,
    LegacyMappingError,
    LegacySourceUnavailable,
    LegacyUser,
)
from accounts.legacy.mapping import Mapping, is_identifier
from idp_bridge.errors import ConfigurationError

__all__ = ["Dialect", "Failure", "PostgresDialect", "SqlUserSource", "SqliteDialect", "dialect_for_url"]

logger = logging.getLogger(__name__)

ConnT = TypeVar("ConnT")
Row = tuple[Any, ...]
MAX_ROWS = 2  # enough to tell "one" from "more than one"


class Failure(enum.Enum):
    """What a driver error means for a lookup."""

    UNAVAILABLE = "unavailable"  # outage or timeout: LegacySourceUnavailable
    BROKEN = "broken"  # this connection is dead: replace it (once) and retry
    MAPPING = "mapping"  # the mapping does not fit the schema: LegacyMappingError
    NO_MATCH = "no-match"  # the value cannot exist in the column (e.g. "abc" for an integer id)
    BUG = "bug"  # none of the above: re-raise unchanged


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Dialect(ABC, Generic[ConnT]):
    """Everything that differs between databases. Subclasses are small; see the module docstring."""

    scheme_names: ClassVar[tuple[str, ...]]
    placeholder: ClassVar[str]
    quote_char: ClassVar[str] = '"'
    driver_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(
        self, *, connect_timeout: float, statement_timeout: float, secrets: Sequence[str] = ()
    ) -> None:
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, *, connect_timeout: float, statement_timeout: float) -> Dialect[ConnT]:
        """Parse ``url``; raise ConfigurationError (without the password) if it is unusable."""

    @property
    @abstractmethod
    def description(self) -> str:
        """The database in words, for messages and logs: never the password."""

    @abstractmethod
    def connect(self) -> ConnT:
        """A new read-only connection. Raises one of ``driver_errors``."""

    @abstractmethod
    def close(self, conn: ConnT) -> None: ...

    @abstractmethod
    def fetch(
        self, conn: ConnT, sql: str, params: Sequence[object], max_rows: int
    ) -> tuple[tuple[str, ...], list[Row]]:
        """Run one SELECT; return the column names and at most ``max_rows`` rows."""

    @abstractmethod
    def classify(self, exc: Exception, conn: ConnT | None) -> Failure:
        """What a driver error means; ``conn`` is None when connecting failed."""

    @abstractmethod
    def is_missing_table(self, exc: Exception) -> bool: ...

    def quote(self, identifier: str) -> str:
        """Quote a validated identifier (``schema.table`` becomes two quoted parts)."""
        if not is_identifier(identifier, allow_schema=True):  # validated already; never trust twice
            raise LegacyMappingError(f"refusing to put {identifier!r} into SQL: not a plain identifier")
        q = self.quote_char
        return ".".join(q + part.replace(q, q + q) + q for part in identifier.split("."))

    def lower(self, expression: str) -> str:
        return f"lower({expression})"

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def failure_message(self, exc: Exception) -> str:
        return self.redact(_first_line(exc))


# --- SQLite ----------------------------------------------------------------------------------


class _SqliteConnection(sqlite3.Connection):
    """A connection that aborts any statement running past ``deadline`` (time.monotonic())."""

    deadline: float = math.inf

    def past_deadline(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0


class SqliteDialect(Dialect[_SqliteConnection]):
    """``sqlite:///relative/path.db`` (relative to the working directory when the source is built)
    or ``sqlite:////absolute/path.db`` (four slashes), as in SQLAlchemy and dj-database-url."""

    scheme_names = ("sqlite",)
    placeholder = "?"
    # Not '"': SQLite reads a double-quoted name that matches no column as a string literal, so a
    # misspelt column would silently select its own name. Backquoted names are always identifiers.
    quote_char = "`"
    driver_errors = (sqlite3.Error,)

    # Primary result codes that are the database's fault, not the mapping's (SQLITE_ERROR is).
    _UNAVAILABLE_CODES: ClassVar[frozenset[int]] = frozenset(
        {
            sqlite3.SQLITE_PERM,
            sqlite3.SQLITE_BUSY,
            sqlite3.SQLITE_LOCKED,
            sqlite3.SQLITE_NOMEM,
            sqlite3.SQLITE_INTERRUPT,
            sqlite3.SQLITE_IOERR,
            sqlite3.SQLITE_CORRUPT,
            sqlite3.SQLITE_CANTOPEN,
            sqlite3.SQLITE_PROTOCOL,
            sqlite3.SQLITE_NOTADB,
            sqlite3.SQLITE_AUTH,
        }
    )

    def __init__(
        self, path: Path, *, connect_timeout: float, statement_timeout: float, relative: bool = False
    ) -> None:
        super().__init__(connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        self.path = path
        self.relative = relative

    @classmethod
    def from_url(cls, url: str, *, connect_timeout: float, statement_timeout: float) -> SqliteDialect:
        prefix = "sqlite://"
        rest = url[len(prefix) :] if url.lower().startswith(prefix) else None
        if rest is None or not rest.startswith("/") or any(c in rest for c in "?#"):
            raise ConfigurationError(
                "a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db "
                "(no host, no query string)"
            )
        raw = unquote(rest[1:])
        if not raw or raw == ":memory:":
            raise ConfigurationError(
                "the SQLite URL names no database file (an in-memory database has no users)"
            )
        path = Path(raw)
        return cls(
            path.absolute(),
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
            relative=not path.is_absolute(),
        )

    @property
    def description(self) -> str:
        return f"SQLite file {self.path}"

    def connect(self) -> _SqliteConnection:
        # mode=ro: SQLite itself refuses every write; the busy timeout bounds waits for the portal's locks.
        conn = sqlite3.connect(
            self.path.as_uri() + "?mode=ro",
            uri=True,
            timeout=self.statement_timeout,
            isolation_level=None,
            check_same_thread=False,  # used by one thread at a time; close() may run elsewhere
            factory=_SqliteConnection,
        )
        assert isinstance(conn, _SqliteConnection)
        try:
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            conn.close()
            raise
        conn.set_progress_handler(conn.past_deadline, 1000)
        return conn

    def close(self, conn: _SqliteConnection) -> None:
        conn.close()

    def fetch(
        self, conn: _SqliteConnection, sql: str, params: Sequence[object], max_rows: int
    ) -> tuple[tuple[str, ...], list[Row]]:
        conn.deadline = time.monotonic() + self.statement_timeout
        try:
            cursor = conn.execute(sql, tuple(params))
            try:
                names = tuple(str(d[0]) for d in cursor.description or ())
                rows = [tuple(row) for row in cursor.fetchmany(max_rows)]
            finally:
                cursor.close()
        finally:
            conn.deadline = math.inf
        return names, rows

    def classify(self, exc: Exception, conn: _SqliteConnection | None) -> Failure:
        if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
            return Failure.BUG
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if conn is None or primary in self._UNAVAILABLE_CODES:
            return Failure.UNAVAILABLE
        if primary == sqlite3.SQLITE_ERROR:
            return Failure.MAPPING
        if isinstance(exc, sqlite3.DataError):
            return Failure.NO_MATCH
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
            return Failure.UNAVAILABLE
        return Failure.BUG

    def is_missing_table(self, exc: Exception) -> bool:
        return str(exc).startswith("no such table")

    def failure_message(self, exc: Exception) -> str:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT:
            return f"no answer within {self.statement_timeout:g} s (statement interrupted)"
        if not self.path.exists():
            hint = " (relative to the working directory; an absolute path takes four slashes, "
            hint += "sqlite:////path/to/file.db)"
            return f"the file does not exist{hint if self.relative else ''}"
        return super().failure_message(exc)


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresDialect(Dialect[psycopg.Connection[Row]]):
    """``postgres://`` or ``postgresql://`` URLs (any libpq parameters in the query string)."""

    scheme_names = ("postgres", "postgresql")
    placeholder = "%s"
    driver_errors = (psycopg.Error,)

    def __init__(
        self,
        params: dict[str, Any],
        *,
        connect_timeout: float,
        statement_timeout: float,
        secrets: Sequence[str],
    ) -> None:
        super().__init__(
            connect_timeout=connect_timeout, statement_timeout=statement_timeout, secrets=secrets
        )
        statement_ms = max(1, round(statement_timeout * 1000))
        params = dict(params)
        ours = f"-c default_transaction_read_only=on -c statement_timeout={statement_ms}"
        params["options"] = f"{params.get('options') or ''} {ours}".strip()
        # libpq counts whole seconds and treats anything below 2 as 2.
        params["connect_timeout"] = str(max(2, math.ceil(connect_timeout)))
        # Bound how long a query may wait on a server that vanished without closing the socket.
        params.setdefault("tcp_user_timeout", str(round((connect_timeout + statement_timeout) * 1000)))
        params.setdefault("keepalives", "1")
        params.setdefault("keepalives_idle", "30")
        params.setdefault("application_name", "idp-bridge")
        self._params = params

    @classmethod
    def from_url(cls, url: str, *, connect_timeout: float, statement_timeout: float) -> PostgresDialect:
        secrets: list[str] = []
        with contextlib.suppress(ValueError):
            password = urlsplit(url).password
            if password:
                secrets += [password, unquote(password)]
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            message = _first_line(exc)
            for secret in secrets:
                message = message.replace(secret, "***")
            raise ConfigurationError(f"the PostgreSQL URL cannot be parsed: {message}") from None
        if params.get("password"):
            secrets.append(str(params["password"]))
        return cls(
            params, connect_timeout=connect_timeout, statement_timeout=statement_timeout, secrets=secrets
        )

    @property
    def description(self) -> str:
        p = self._params
        user = f"{p['user']}@" if p.get("user") else ""
        port = f":{p['port']}" if p.get("port") else ""
        return f"PostgreSQL {user}{p.get('host') or 'localhost'}{port}/{p.get('dbname') or ''}"

    def connect(self) -> psycopg.Connection[Row]:
        conn = psycopg.connect(make_conninfo("", **self._params), autocommit=True)
        try:
            read_only = conn.execute("SHOW default_transaction_read_only").fetchone()
        except psycopg.Error:
            conn.close()
            raise
        if read_only is None or read_only[0] != "on":
            conn.close()
            raise ConfigurationError(
                f"{self.description}: the session did not become read-only (startup option "
                "default_transaction_read_only=on was ignored, e.g. by a connection pooler); "
                "connect to PostgreSQL directly or give the role default_transaction_read_only=on"
            )
        return conn

    def close(self, conn: psycopg.Connection[Row]) -> None:
        conn.close()

    def fetch(
        self, conn: psycopg.Connection[Row], sql: str, params: Sequence[object], max_rows: int
    ) -> tuple[tuple[str, ...], list[Row]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            names = tuple(column.name for column in cursor.description or ())
            rows = cursor.fetchmany(max_rows)
        return names, rows

    def classify(self, exc: Exception, conn: psycopg.Connection[Row] | None) -> Failure:
        if conn is None:
            return Failure.UNAVAILABLE if isinstance(exc, psycopg.OperationalError) else Failure.BUG
        if isinstance(exc, psycopg.errors.QueryCanceled):  # statement_timeout
            return Failure.UNAVAILABLE
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return Failure.BROKEN if conn.broken or conn.closed else Failure.UNAVAILABLE
        if isinstance(exc, psycopg.NotSupportedError):  # e.g. "cached plan must not change result type"
            return Failure.BROKEN
        if isinstance(exc, psycopg.DataError):
            return Failure.NO_MATCH
        if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is not None:
            return Failure.MAPPING  # undefined table/column, permission denied: from the server
        return Failure.BUG

    def is_missing_table(self, exc: Exception) -> bool:
        return isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName)

    def failure_message(self, exc: Exception) -> str:
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"no answer within {self.statement_timeout:g} s (statement_timeout)"
        return super().failure_message(exc)


_DIALECTS: tuple[type[Dialect[Any]], ...] = (SqliteDialect, PostgresDialect)


def dialect_for_url(url: str, *, connect_timeout: float, statement_timeout: float) -> Dialect[Any]:
    """The dialect for a database URL. Raises ConfigurationError (never echoing the URL)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    for dialect in _DIALECTS:
        if scheme in dialect.scheme_names:
            return dialect.from_url(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    supported = ", ".join(name for d in _DIALECTS for name in d.scheme_names)
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r} (supported: {supported}), e.g. "
        "postgresql://reader@db.example.org/portal or sqlite:////srv/portal/portal.db"
    )


# --- the source ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Held:
    conn: Any
    pid: int = field(default_factory=os.getpid)
    closed: bool = False


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


class SqlUserSource:
    """A read-only :class:`~accounts.legacy.LegacyUserSource` over a SQL database."""

    def __init__(
        self,
        database_url: str,
        mapping: Mapping,
        *,
        connect_timeout: float = 5,
        statement_timeout: float = 5,
    ) -> None:
        for name, value in (("connect_timeout", connect_timeout), ("statement_timeout", statement_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}")
        self._mapping = mapping
        self._dialect: Dialect[Any] = dialect_for_url(
            database_url, connect_timeout=float(connect_timeout), statement_timeout=float(statement_timeout)
        )
        d = self._dialect
        self._columns = mapping.selected_columns()
        select = ", ".join(d.quote(column) for column in self._columns)
        table = d.quote(mapping.table)
        login_column = d.quote(mapping.username_column)
        if mapping.username_match == "case-insensitive":
            login_test = f"{d.lower(login_column)} = {d.lower(d.placeholder)}"
        else:
            login_test = f"{login_column} = {d.placeholder}"
        # Identifiers: validated by mapping.py and quoted by the dialect. Values: bound parameters.
        self._table_sql = table
        self._select_sql = select
        self._by_login_sql = f"SELECT {select} FROM {table} WHERE {login_test} LIMIT {MAX_ROWS}"  # noqa: S608
        id_test = f"{d.quote(mapping.id_column)} = {d.placeholder}"
        self._by_id_sql = f"SELECT {select} FROM {table} WHERE {id_test} LIMIT {MAX_ROWS}"  # noqa: S608
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._inherited: list[_Held] = []  # from a parent process: never used, never closed here

    def __repr__(self) -> str:
        return f"SqlUserSource({self._dialect.description}, table={self._mapping.table!r})"

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
        rows = self._query(self._by_login_sql, login)
        return self._single(rows, "login")

    def get_by_id(self, legacy_id: str) -> LegacyUser | None:
        if not _typeable(legacy_id):
            return None
        rows = self._query(self._by_id_sql, legacy_id)
        # The database may coerce ("05" or " 5" to 5): only the exact id is this account.
        rows = [row for row in rows if self._render_id(row) == legacy_id]
        return self._single(rows, "id")

    def check(self) -> list[str]:
        """Run the mapping against the live database; plain-language problems, [] if none.

        An unreachable database raises LegacySourceUnavailable instead: that is an outage to wait
        out (a start-up warning), not a mistake in the mapping (a start-up error).
        """
        try:
            held, _ = self._acquire()
        except ConfigurationError as exc:
            return [str(exc)]
        return self._diagnose(held)

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

    def _render_id(self, row: Row) -> str | None:
        return _text(row[self._columns.index(self._mapping.id_column)])

    def _single(self, rows: list[Row], by: str) -> LegacyUser | None:
        if not rows:
            logger.debug("legacy lookup by %s: not found", by)
            return None
        if len(rows) > 1:
            ids = [self._render_id(row) or "?" for row in rows]
            logger.warning(
                "legacy lookup by %s: %d or more accounts match (ids %s)", by, len(rows), ", ".join(ids)
            )
            raise DuplicateLegacyUser(
                f"more than one legacy account matches this {by} (ids {', '.join(ids)}): an admin must "
                "rename one in the portal or resolve the conflict in the bridge",
                legacy_ids=ids,
            )
        user = self._to_user(rows[0])
        logger.debug("legacy lookup by %s: %s", by, f"found id {user.legacy_id}" if user else "unusable row")
        return user

    def _to_user(self, row: Row) -> LegacyUser | None:
        values = dict(zip(self._columns, row, strict=True))
        m = self._mapping
        legacy_id = _text(values[m.id_column])
        username = _text(values[m.username_column])
        if legacy_id is None or username is None:
            logger.warning(
                "legacy row %s has no %s: treated as absent",
                legacy_id,
                "id" if legacy_id is None else "username",
            )
            return None

        def claim(field: str) -> str | None:
            column = m.claim_column(field)
            value = _text(values[column]) if column is not None else None
            return value if value is not None else m.constant(field)

        return LegacyUser(
            legacy_id=legacy_id,
            username=username,
            password_hash=_text(values[m.password_column]),
            salt=_text(values[m.salt_column]) if m.salt_column is not None else None,
            email=claim("email"),
            name=claim("name"),
            given_name=claim("given_name"),
            family_name=claim("family_name"),
            organization=claim("organization"),
            is_active=all(condition.holds(values[condition.column]) for condition in m.active),
            password_scheme=m.password_scheme,
        )

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

    def _query(self, sql: str, value: str) -> list[Row]:
        for attempt in (1, 2):
            held, fresh = self._acquire()
            try:
                return self._dialect.fetch(held.conn, sql, (value,), MAX_ROWS)[1]
            except self._dialect.driver_errors as exc:
                failure = self._dialect.classify(exc, held.conn)
                if failure is Failure.BROKEN:
                    self._discard(held)
                    if fresh or attempt == 2:
                        raise self._unavailable(exc) from exc
                    logger.info("legacy database connection lost; reconnecting once")
                    continue
                if failure is Failure.NO_MATCH:
                    return []
                if failure is Failure.UNAVAILABLE:
                    raise self._unavailable(exc) from exc
                if failure is Failure.MAPPING:
                    problems = self._diagnose(held)
                    detail = "; ".join(problems) or (
                        f"{self._mapping.source}: the legacy database rejected the lookup in table "
                        f"{self._mapping.table!r}: {self._dialect.failure_message(exc)}"
                    )
                    raise LegacyMappingError(detail) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _probe(self, held: _Held, select: str) -> tuple[tuple[str, ...], Exception | None]:
        """Run ``SELECT <select> FROM <table> WHERE 1 = 0``: (column names, None) or ((), error)."""
        sql = f"SELECT {select} FROM {self._table_sql} WHERE 1 = 0"  # noqa: S608 - quoted identifiers only
        try:
            return self._dialect.fetch(held.conn, sql, (), 0)[0], None
        except self._dialect.driver_errors as exc:
            if self._dialect.classify(exc, held.conn) is Failure.BUG:
                raise
            return (), exc

    def _diagnose(self, held: _Held) -> list[str]:
        m, d = self._mapping, self._dialect
        existing, error = self._probe(held, "*")
        if error is not None:
            failure = d.classify(error, held.conn)
            if failure in (Failure.UNAVAILABLE, Failure.BROKEN):
                if failure is Failure.BROKEN:
                    self._discard(held)
                return [str(self._unavailable(error))]
            if d.is_missing_table(error):
                return [
                    f"{m.source}: [table] name = {m.table!r}: no such table in {d.description} (names are "
                    "matched exactly as the database stores them; schema-qualify it if it is not on the "
                    "search path)"
                ]
            return [f"{m.source}: [table] name = {m.table!r}: cannot read it: {d.failure_message(error)}"]
        problems = []
        keys = [(f"[columns] {name}", column) for name, column in m.field_columns()]
        keys += [(f"[active] {c.column}", c.column) for c in m.active]
        for key, column in keys:
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
            _, error = self._probe(held, self._select_sql)
            if error is not None:
                problems.append(f"{m.source}: the lookup query fails: {d.failure_message(error)}")
        return problems
