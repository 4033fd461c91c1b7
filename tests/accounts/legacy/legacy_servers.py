"""Throwaway databases on real PostgreSQL and MariaDB servers, each with a SELECT-only role.

``postgres_database()`` and ``mariadb_database()`` are context managers: they create a database
named ``<prefix>_<hex>`` and a login role that may only read it, yield a
:class:`ThrowawayDatabase`, and drop both afterwards. The bridge's sources under test connect
with ``reader_url`` (so any write they attempted would fail); tests set data up through
``admin()``. When the server does not answer within 3 s, the test is skipped with the reason.

Servers: ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) and
``TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/``), as in CI.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
import pymysql
import pytest
from psycopg import sql

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")


@dataclass
class ThrowawayDatabase:
    """A database that exists for one test session, and the SELECT-only role that reads it."""

    kind: str  # "postgresql" or "mariadb"
    name: str
    admin_url: str  # full rights on the database (setup and assertions only)
    reader_url: str  # the SELECT-only role: what the source under test uses
    reader: str
    reader_password: str
    admin: Callable[[], Any]  # a new writable DB-API connection in autocommit mode
    placeholder: str  # "%s" for both drivers

    def execute(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self.admin()
        try:
            cursor = conn.cursor()
            cursor.execute(statement, params if params else None)
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            cursor.close()
            return rows
        finally:
            conn.close()

    def script(self, statements: str) -> None:
        """Run ``;``-separated DDL (no literal may contain ';')."""
        for statement in statements.split(";"):
            if statement.strip():
                self.execute(statement)


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def postgres_database(prefix: str) -> Iterator[ThrowawayDatabase]:
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"no PostgreSQL answered at {_shown(POSTGRES_ADMIN_URL)} within 3 s ({_first_line(exc)}); "
            "set TEST_POSTGRES_URL to test it"
        )
    token = secrets.token_hex(5)
    name, reader, password = f"{prefix}_{token}", f"{prefix}_ro_{token}", f"ro-Pa55-{token}"
    parts = urlsplit(POSTGRES_ADMIN_URL)
    admin_url = urlunsplit(parts._replace(path=f"/{name}"))
    host = parts.netloc.rpartition("@")[2]
    reader_url = urlunsplit(parts._replace(netloc=f"{reader}:{quote(password)}@{host}", path=f"/{name}"))
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(reader), sql.Literal(password))
        )
        with psycopg.connect(admin_url, autocommit=True) as db:
            # PostgreSQL 15 already denies CREATE on schema public to PUBLIC; deny temp tables too.
            db.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
            db.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            # Every table the admin creates from now on is readable, and only readable, by the reader.
            db.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}").format(
                    sql.Identifier(reader)
                )
            )
        yield ThrowawayDatabase(
            kind="postgresql",
            name=name,
            admin_url=admin_url,
            reader_url=reader_url,
            reader=reader,
            reader_password=password,
            admin=lambda: psycopg.connect(admin_url, autocommit=True),
            placeholder="%s",
        )
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))
        admin.close()


def _mysql_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }


@contextmanager
def mariadb_database(prefix: str) -> Iterator[ThrowawayDatabase]:
    params = _mysql_params(MYSQL_ADMIN_URL)
    try:
        admin = pymysql.connect(**params, connect_timeout=3, autocommit=True, charset="utf8mb4")
    except pymysql.err.MySQLError as exc:
        pytest.skip(
            f"no MariaDB/MySQL answered at {_shown(MYSQL_ADMIN_URL)} within 3 s ({_first_line(exc)}); "
            "set TEST_MYSQL_URL to test it"
        )
    token = secrets.token_hex(5)
    name, reader, password = f"{prefix}_{token}", f"{prefix}_ro_{token}", f"ro-Pa55-{token}"
    host = f"{params['host']}:{params['port']}"
    credentials = quote(params["user"]) + (f":{quote(params['password'])}" if params["password"] else "")
    admin_url = f"mysql://{credentials}@{host}/{name}"
    reader_url = f"mysql://{reader}:{quote(password)}@{host}/{name}"
    try:
        with admin.cursor() as cursor:
            # The server's usual default: case-, accent- and pad-insensitive comparisons.
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            cursor.execute(f"CREATE USER '{reader}'@'%%' IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT SELECT ON `{name}`.* TO '{reader}'@'%'")
        yield ThrowawayDatabase(
            kind="mariadb",
            name=name,
            admin_url=admin_url,
            reader_url=reader_url,
            reader=reader,
            reader_password=password,
            admin=lambda: pymysql.connect(
                **params, database=name, autocommit=True, charset="utf8mb4", connect_timeout=3
            ),
            placeholder="%s",
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"DROP USER IF EXISTS '{reader}'@'%'")
        admin.close()
