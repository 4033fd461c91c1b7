"""Database dialects: everything that differs between the databases a legacy portal may use.

One :class:`Dialect` subclass per DB-API driver: SQLite (the standard library), PostgreSQL
(psycopg 3) and MySQL/MariaDB (PyMySQL, imported only when a ``mysql://`` or ``mariadb://`` URL is
used). Each one parses its URL (never echoing the password), opens a *read-only* connection and
proves it is one, runs a SELECT, describes result column types for ``check()``, and says what a
driver error means (:class:`Failure`). docs/legacy-mapping.md ("Adding a database driver") walks
through writing another.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import logging
import math
import os
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

from accounts.legacy import (
    LegacyMappingError,
)
from accounts.legacy.mapping import is_identifier
from accounts.legacy.query import ParsedQuery
from idp_bridge.errors import ConfigurationError

__all__ = [
    "KINDS",
    "MAX_ROWS",
    "QUERY_ALIAS",
    "Dialect",
    "Failure",
    "MysqlDialect",
    "PostgresDialect",
    "Row",
    "SqliteDialect",
    "dialect_for_url",
]

logger = logging.getLogger(__name__)

ConnT = TypeVar("ConnT")
Row = tuple[Any, ...]
MAX_ROWS = 2  # enough to tell "one" from "more than one"
QUERY_ALIAS: Final = "bridge_q"
#: What ``describe`` says a result column is. "text" includes binary strings (VARBINARY, BLOB,
#: bytea): the source decodes them as UTF-8.
KINDS: Final = ("text", "integer", "number", "datetime", "date", "boolean", "other", "unknown")


class Failure(enum.Enum):
    """What a driver error means for a lookup."""

    UNAVAILABLE = "unavailable"  # outage or timeout: LegacySourceUnavailable
    BROKEN = "broken"  # this connection is dead: replace it (once) and retry
    MAPPING = "mapping"  # the mapping does not fit the schema: LegacyMappingError
    NO_MATCH = "no-match"  # the value cannot exist in the column (e.g. "abc" for an integer id)
    UNREADABLE = "unreadable"  # a row matched but the driver cannot load a value in it
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
    #: Whether the driver reads ``%`` in SQL text as the start of a placeholder (``%s`` styles).
    escape_percent: ClassVar[bool] = False

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

    def describe(self, conn: ConnT, sql: str, params: Sequence[object]) -> list[tuple[str, str]]:
        """Run one SELECT (meant to return no rows) and say what each result column is: (name,
        kind), kind one of ``KINDS``. The default knows nothing ("unknown": judged by values)."""
        names, _ = self.fetch(conn, sql, params, 0)
        return [(name, "unknown") for name in names]

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

    def exact_equals(self, column: str) -> tuple[str, int]:
        """SQL testing that quoted ``column`` equals a bound text exactly, and how many
        placeholders it holds (each is bound to the same value)."""
        return f"{column} = {self.placeholder}", 1

    def ci_equals(self, column: str) -> tuple[str, int]:
        """As ``exact_equals``, ignoring case (the database's own ``lower()``)."""
        return f"{self.lower(column)} = {self.lower(self.placeholder)}", 1

    def render(self, query: ParsedQuery) -> str:
        return query.render(self.placeholder, escape_percent=self.escape_percent)

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
                rows = [tuple(row) for row in cursor.fetchmany(max_rows)] if max_rows > 0 else []
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


# PostgreSQL type categories (pg_type.typcategory) as kinds.
_PG_CATEGORIES: Final = {"S": "text", "N": "number", "D": "datetime", "B": "boolean"}


# --- PostgreSQL ------------------------------------------------------------------------------

# A PostgreSQL server that hangs (a stopped process, a frozen VM, a stuck storage volume) still has
# its kernel acknowledge every packet: statement_timeout never fires (the server is not running),
# nor do TCP keepalives or tcp_user_timeout, and the request would wait for ever. So the client
# bounds every round trip itself: this long after the statement timeout (which, on a live server,
# answers first), the connection's socket is shut down and the lookup is an outage.
CLIENT_DEADLINE_GRACE_SECONDS: Final = 1.0


class NoAnswer(psycopg.OperationalError):
    """The server did not answer in time and the client cut the connection (never retried)."""


@contextlib.contextmanager
def client_deadline(conn: psycopg.Connection[Any], seconds: float) -> Iterator[None]:
    """Shut ``conn``'s socket down if the block has not finished within ``seconds``."""
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        with contextlib.suppress(OSError, psycopg.Error):
            sock = socket.socket(fileno=os.dup(conn.fileno()))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    except psycopg.OperationalError as exc:
        if fired.is_set():
            raise NoAnswer(f"no answer within {seconds:g} s (the server hung; connection cut)") from exc
        raise
    finally:
        timer.cancel()


class PostgresDialect(Dialect[psycopg.Connection[Row]]):
    """``postgres://`` or ``postgresql://`` URLs (any libpq parameters in the query string)."""

    scheme_names = ("postgres", "postgresql")
    placeholder = "%s"
    driver_errors = (psycopg.Error,)
    escape_percent = True

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

    @property
    def deadline_seconds(self) -> float:
        """How long one round trip may take before the client gives the server up as hung."""
        return self.statement_timeout + CLIENT_DEADLINE_GRACE_SECONDS

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
        _load_infinity_dates(conn)
        try:
            with client_deadline(conn, self.deadline_seconds):
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
        with client_deadline(conn, self.deadline_seconds), conn.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            names = tuple(column.name for column in cursor.description or ())
            rows = cursor.fetchmany(max_rows) if max_rows > 0 else []
        return names, rows

    def describe(
        self, conn: psycopg.Connection[Row], sql: str, params: Sequence[object]
    ) -> list[tuple[str, str]]:
        with client_deadline(conn, self.deadline_seconds), conn.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            columns = [(column.name, column.type_code) for column in cursor.description or ()]
            oids = sorted({oid for _, oid in columns})
            cursor.execute(
                "SELECT oid, typname, typcategory FROM pg_catalog.pg_type WHERE oid = ANY(%s)", (oids,)
            )
            types = {int(oid): (str(name), str(category)) for oid, name, category in cursor.fetchall()}
        kinds = []
        for name, oid in columns:
            typname, category = types.get(int(oid), ("", ""))
            if typname == "bytea":
                kind = "text"
            elif typname in ("int2", "int4", "int8", "oid"):
                kind = "integer"
            elif typname == "date":
                kind = "date"
            else:
                kind = _PG_CATEGORIES.get(category, "other")
            kinds.append((name, kind))
        return kinds

    def classify(self, exc: Exception, conn: psycopg.Connection[Row] | None) -> Failure:
        if conn is None:
            return Failure.UNAVAILABLE if isinstance(exc, psycopg.OperationalError) else Failure.BUG
        if isinstance(exc, NoAnswer):  # not retried: a reconnect would wait for the hung server again
            return Failure.UNAVAILABLE
        if isinstance(exc, psycopg.errors.QueryCanceled):  # statement_timeout
            return Failure.UNAVAILABLE
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return Failure.BROKEN if conn.broken or conn.closed else Failure.UNAVAILABLE
        if isinstance(exc, psycopg.NotSupportedError):  # e.g. "cached plan must not change result type"
            return Failure.BROKEN
        if isinstance(exc, psycopg.DataError):
            # From the server (a sqlstate): the parameter cannot exist in the column. From psycopg
            # itself: a value in a matching row cannot be loaded; that row exists.
            return Failure.NO_MATCH if exc.sqlstate is not None else Failure.UNREADABLE
        if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is not None:
            return Failure.MAPPING  # undefined table/column, permission denied: from the server
        return Failure.BUG

    def is_missing_table(self, exc: Exception) -> bool:
        return isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName)

    def failure_message(self, exc: Exception) -> str:
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"no answer within {self.statement_timeout:g} s (statement_timeout)"
        if isinstance(exc, NoAnswer):
            return str(exc)
        return super().failure_message(exc)


def _load_infinity_dates(conn: psycopg.Connection[Row]) -> None:
    """Load PostgreSQL's 'infinity' dates (a permanent lockout, a never-expiring account) as the
    largest Python date instead of failing the whole row: psycopg cannot represent them."""
    for pg_type, loader in _INFINITY_LOADERS.items():
        conn.adapters.register_loader(pg_type, loader)


class _InfinityDateLoader(DateLoader):
    def load(self, data: Any) -> Any:
        if bytes(data) == b"infinity":
            return datetime.date.max
        if bytes(data) == b"-infinity":
            return datetime.date.min
        return super().load(data)


class _InfinityTimestampLoader(TimestampLoader):
    def load(self, data: Any) -> Any:
        if bytes(data) == b"infinity":
            return datetime.datetime.max
        if bytes(data) == b"-infinity":
            return datetime.datetime.min
        return super().load(data)


class _InfinityTimestamptzLoader(TimestamptzLoader):
    def load(self, data: Any) -> Any:
        if bytes(data) == b"infinity":
            return datetime.datetime.max.replace(tzinfo=datetime.UTC)
        if bytes(data) == b"-infinity":
            return datetime.datetime.min.replace(tzinfo=datetime.UTC)
        return super().load(data)


_INFINITY_LOADERS: Final[dict[str, type[Any]]] = {
    "date": _InfinityDateLoader,
    "timestamp": _InfinityTimestampLoader,
    "timestamptz": _InfinityTimestamptzLoader,
}


# --- MySQL / MariaDB -------------------------------------------------------------------------

# PyMySQL's FIELD_TYPE codes as kinds (pymysql.constants.FIELD_TYPE).
_MYSQL_KINDS: Final = {
    0: "number", 246: "number", 4: "number", 5: "number",  # DECIMAL, NEWDECIMAL, FLOAT, DOUBLE
    1: "integer", 2: "integer", 3: "integer", 8: "integer", 9: "integer", 13: "integer", 16: "integer",
    7: "datetime", 12: "datetime",  # TIMESTAMP, DATETIME
    10: "date", 14: "date",  # DATE, NEWDATE
    15: "text", 247: "text", 248: "text", 249: "text", 250: "text", 251: "text", 252: "text",
    253: "text", 254: "text",  # VARCHAR, ENUM, SET, the BLOBs, VAR_STRING, STRING (binary ones too)
}  # fmt: skip
# Server error codes (https://mariadb.com/kb/en/mariadb-error-codes/, MySQL's are the same).
_MYSQL_TIMEOUT: Final = frozenset({1969, 3024, 1317, 1028})  # statement time limit, interrupted
_MYSQL_BUSY: Final = frozenset(
    {1040, 1203, 1205, 1213, 1226, 1290}
)  # too many connections, locks, read-only server
_MYSQL_BROKEN: Final = frozenset({2006, 2013, 2014, 2045, 2055, 4031})  # gone away, lost, out of sync
_MYSQL_NO_MATCH: Final = frozenset({1267, 1270, 1271, 1366, 1300})  # collation mix, bad string value
_MYSQL_MISSING_TABLE: Final = frozenset({1146, 1049, 1109})
_MYSQL_URL_OPTIONS: Final = {
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
    "ssl_verify_cert": bool,
    "ssl_verify_identity": bool,
    "ssl_disabled": bool,
    "unix_socket": str,
}


class MysqlDialect(Dialect[Any]):
    """``mysql://user:password@host:3306/database`` or ``mariadb://...``, through PyMySQL.

    Query parameters: ``ssl_ca``, ``ssl_cert``, ``ssl_key`` (paths), ``ssl_verify_cert``,
    ``ssl_verify_identity``, ``ssl_disabled`` (true/false) and ``unix_socket``. The connection is
    utf8mb4, autocommit, ``SET SESSION TRANSACTION READ ONLY`` (verified), with the statement
    timeout as ``max_statement_time`` (MariaDB) or ``max_execution_time`` (MySQL), the session
    time zone UTC (so TIMESTAMP columns come back in UTC), and a client-side read timeout as a
    backstop. Multi-statements and LOAD DATA LOCAL are off.
    """

    scheme_names = ("mysql", "mariadb")
    placeholder = "%s"
    quote_char = "`"
    escape_percent = True

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
        self._params = params

    @property
    def driver_errors(self) -> tuple[type[Exception], ...]:  # type: ignore[override]
        return (_pymysql().err.MySQLError,)

    @classmethod
    def from_url(cls, url: str, *, connect_timeout: float, statement_timeout: float) -> MysqlDialect:
        secrets: list[str] = []
        try:
            parts = urlsplit(url)
            password = parts.password
            if password:
                secrets += [password, unquote(password)]
            port = parts.port or 3306
        except ValueError:
            raise ConfigurationError(
                "the MySQL URL cannot be parsed: write mysql://user:password@host:3306/database "
                "(percent-encode special characters in the password)"
            ) from None
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise ConfigurationError(
                "the MySQL URL names no database: write mysql://user:password@host:3306/database"
            )
        if parts.fragment:
            raise ConfigurationError("the MySQL URL must not have a #fragment")
        params: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": port,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(password) if password else "",
            "database": database,
        }
        try:
            options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise ConfigurationError("the MySQL URL's query string cannot be parsed") from None
        for key, value in options:
            kind = _MYSQL_URL_OPTIONS.get(key)
            if kind is None:
                raise ConfigurationError(
                    f"the MySQL URL option {key!r} is not supported (supported: "
                    f"{', '.join(sorted(_MYSQL_URL_OPTIONS))})"
                )
            if kind is bool:
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ConfigurationError(
                        f"the MySQL URL option {key} must be true or false, not {value!r}"
                    )
                params[key] = value.lower() in ("true", "1", "yes")
            else:
                params[key] = value
        return cls(
            params, connect_timeout=connect_timeout, statement_timeout=statement_timeout, secrets=secrets
        )

    @property
    def description(self) -> str:
        p = self._params
        user = f"{p['user']}@" if p.get("user") else ""
        where = p["unix_socket"] if p.get("unix_socket") else f"{p['host']}:{p['port']}"
        return f"MySQL/MariaDB {user}{where}/{p['database']}"

    def connect(self) -> Any:
        pymysql = _pymysql()
        conn = pymysql.connect(
            **self._params,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=self.connect_timeout,
            read_timeout=self.statement_timeout + self.connect_timeout,
            write_timeout=self.statement_timeout + self.connect_timeout,
            local_infile=False,
            client_flag=0,  # no CLIENT.MULTI_STATEMENTS: one statement per query
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
                if "mariadb" in str(conn.get_server_info()).lower():
                    cursor.execute("SET SESSION max_statement_time = %s", (self.statement_timeout,))
                else:
                    ms = max(1, round(self.statement_timeout * 1000))
                    cursor.execute("SET SESSION max_execution_time = %s", (ms,))
                cursor.execute("SET SESSION time_zone = '+00:00'")
                read_only = self._session_read_only(cursor)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        if not read_only:
            conn.close()
            raise ConfigurationError(
                f"{self.description}: the session did not become read-only (SET SESSION TRANSACTION "
                "READ ONLY was ignored, e.g. by a proxy); connect to the server directly"
            )
        return conn

    @staticmethod
    def _session_read_only(cursor: Any) -> bool:
        pymysql = _pymysql()
        try:  # MySQL 8 and MariaDB 11.1+
            cursor.execute("SELECT @@session.transaction_read_only")
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != 1193:  # unknown system variable
                raise
            cursor.execute("SELECT @@session.tx_read_only")  # MariaDB before 11.1, MySQL 5.7
        row = cursor.fetchone()
        return row is not None and int(row[0]) == 1

    def close(self, conn: Any) -> None:
        conn.close()

    def fetch(
        self, conn: Any, sql: str, params: Sequence[object], max_rows: int
    ) -> tuple[tuple[str, ...], list[Row]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            names = tuple(str(d[0]) for d in cursor.description or ())
            rows = [tuple(row) for row in cursor.fetchmany(max_rows)] if max_rows > 0 else []
        return names, rows

    def describe(self, conn: Any, sql: str, params: Sequence[object]) -> list[tuple[str, str]]:
        with conn.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return [(str(d[0]), _MYSQL_KINDS.get(int(d[1]), "other")) for d in cursor.description or ()]

    def classify(self, exc: Exception, conn: Any | None) -> Failure:
        pymysql = _pymysql()
        if not isinstance(exc, pymysql.err.MySQLError):
            return Failure.BUG
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if conn is None:
            return Failure.UNAVAILABLE if isinstance(exc, pymysql.err.DatabaseError) else Failure.BUG
        if code in _MYSQL_TIMEOUT or code in _MYSQL_BUSY:
            return Failure.UNAVAILABLE
        if code in _MYSQL_BROKEN or isinstance(exc, pymysql.err.InterfaceError) or not conn.open:
            return Failure.BROKEN
        if code in _MYSQL_NO_MATCH or isinstance(exc, pymysql.err.DataError):
            return Failure.NO_MATCH
        if code is not None and 2000 <= code < 3000:  # client-side errors: the link is in doubt
            return Failure.BROKEN
        if code is not None and code >= 1000:
            return Failure.MAPPING  # the server rejected the statement: no table, column, privilege
        return Failure.BUG

    def is_missing_table(self, exc: Exception) -> bool:
        return bool(exc.args) and exc.args[0] in _MYSQL_MISSING_TABLE

    def exact_equals(self, column: str) -> tuple[str, int]:
        # The usual collations ignore case, accents and trailing spaces: the first test finds the
        # candidates through the index, the second keeps only the exact (binary, utf8mb4) match.
        ph = self.placeholder
        return (
            f"{column} = {ph} AND CAST(CONVERT({column} USING utf8mb4) AS BINARY) = CAST({ph} AS BINARY)",
            2,
        )

    def ci_equals(self, column: str) -> tuple[str, int]:
        # CONVERT makes binary columns (VARBINARY, BLOB) character strings, which LOWER() can fold;
        # the binary comparison stops accent- and pad-insensitive collations from adding rows.
        ph = self.placeholder
        left = f"CAST(LOWER(CONVERT({column} USING utf8mb4)) AS BINARY)"
        return f"{left} = CAST(LOWER(CONVERT({ph} USING utf8mb4)) AS BINARY)", 1

    def failure_message(self, exc: Exception) -> str:
        code = exc.args[0] if exc.args else None
        if code in (1969, 3024, 1028):
            return f"no answer within {self.statement_timeout:g} s (statement time limit)"
        if code == 2013 and "timed out" in str(exc):
            return f"no answer within {self.statement_timeout + self.connect_timeout:g} s (read timeout)"
        return super().failure_message(exc)


def _pymysql() -> Any:
    """The PyMySQL module, imported on first use so that other databases do not need it."""
    try:
        import pymysql  # type: ignore[import-untyped]  # optional driver, no stubs: imported on first use
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigurationError(
            "mysql:// and mariadb:// URLs need the PyMySQL driver: pip install PyMySQL"
        ) from None
    return pymysql


_DIALECTS: tuple[type[Dialect[Any]], ...] = (SqliteDialect, PostgresDialect, MysqlDialect)


def dialect_for_url(url: str, *, connect_timeout: float, statement_timeout: float) -> Dialect[Any]:
    """The dialect for a database URL. Raises ConfigurationError (never echoing the URL)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    for dialect in _DIALECTS:
        if scheme in dialect.scheme_names:
            return dialect.from_url(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    supported = ", ".join(name for d in _DIALECTS for name in d.scheme_names)
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r} (supported: {supported}), e.g. "
        "postgresql://reader@db.example.org/portal, mysql://reader@db.example.org/portal or "
        "sqlite:////srv/portal/portal.db"
    )
