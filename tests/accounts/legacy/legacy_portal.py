"""The contract portal table: its rows, its mapping, and a handle on one backend holding it.

Imported by conftest.py and by the tests (for annotations); a plain module, not a conftest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from accounts.legacy.demo import PORTAL_USERS_DDL
from accounts.legacy.mapping import ActiveCondition, Mapping
from accounts.legacy.sql import SqlUserSource

PortalRow = tuple[int, str | None, str | None, str | None, str | None, str | None, str | None, int | None]

# (uid, login, pass_hash, email, first_name, last_name, institution, status)
CONTRACT_ROWS: tuple[PortalRow, ...] = (
    (1, "alice", "$2y$10$alicealicealicealicealOq0bq0bq0bq0bq0bq0bq0bq0bq0bq0b", "alice@example.org",
     "Alice", "Liddell", "Example University", 1),
    (2, "Bob", "hash-of-bob", "bob@example.org", "Bob", "Baker", None, 1),
    (3, "dup", "hash-3", "dup3@example.org", "Dee", "Three", "Example University", 1),
    (4, "dup", "hash-4", "dup4@example.org", "Dee", "Four", "Example University", 1),
    (5, "carol", "hash-5", "carol@example.org", "Carol", "Chen", "Example College", 1),
    (6, "CAROL", "hash-6", "carol.upper@example.org", "Carol", "Upper", "Example College", 1),
    (7, "blank", None, "", "", None, "  ", 1),
    (8, "suspended", "hash-8", "suspended@example.org", "Sue", "Spended", "Example University", 0),
    (9, "émile", "hash-9", "emile@example.org", "Émile", "Zola", "Université d'Exemple", 1),
    (10, "o'brien", "hash-10", "obrien@example.org", "Pat", "O'Brien", "Example University", 1),
    (11, "nostatus", "hash-11", "nostatus@example.org", "No", "Status", "Example University", None),
    (12, None, "hash-12", "nologin@example.org", "No", "Login", None, 1),
)  # fmt: skip

BASE_MAPPING = Mapping(
    table="portal_users",
    id_column="uid",
    username_column="login",
    password_column="pass_hash",
    claim_columns=(
        ("email", "email"),
        ("given_name", "first_name"),
        ("family_name", "last_name"),
        ("organization", "institution"),
    ),
    active=(ActiveCondition("status", (1,)),),
    source="contract.toml",
)

# Every backend gets a view that takes far longer than the tests' statement timeout.
SLOW_VIEW_SQLITE = """
CREATE VIEW slow_users AS
WITH RECURSIVE counter(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM counter WHERE x < 200000000)
SELECT u.* FROM portal_users u WHERE (SELECT max(x) FROM counter) > 0
"""
SLOW_VIEW_POSTGRES = "CREATE VIEW slow_users AS SELECT u.* FROM portal_users u, pg_sleep(30)"
SLOW_VIEW_MARIADB = "CREATE VIEW slow_users AS SELECT u.* FROM portal_users u WHERE SLEEP(30) = 0"


@dataclass
class Portal:
    """One backend holding the contract portal table, and a writable admin handle on it."""

    name: str  # "sqlite", "postgresql" or "mariadb"
    url: str  # what sources use: on the servers, a role that may only SELECT
    admin: Callable[[], Any]  # a new writable DB-API connection (autocommit), for setup and checks
    driver_error: type[Exception]
    unreachable_url: str
    placeholder: str
    admin_url: str = ""  # a URL with full rights (to prove the session itself is read-only)
    mapping: Mapping = BASE_MAPPING
    _sources: list[SqlUserSource] = field(default_factory=list)

    def source(
        self, mapping: Mapping | None = None, *, url: str | None = None, **timeouts: float
    ) -> SqlUserSource:
        """A source over this portal (default: the contract mapping); closed after the test."""
        created = SqlUserSource(url or self.url, mapping or self.mapping, **timeouts)
        self._sources.append(created)
        return created

    def execute(self, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        conn = self.admin()
        try:
            cursor = conn.cursor()
            if params:
                cursor.execute(statement.replace("?", self.placeholder), tuple(params))
            else:
                cursor.execute(statement)
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            cursor.close()
            if isinstance(conn, sqlite3.Connection):
                conn.commit()
            return rows
        finally:
            conn.close()

    def with_mapping(self, **changes: Any) -> Mapping:
        """The contract mapping with some fields replaced."""
        return replace(self.mapping, **changes)

    def close_sources(self) -> None:
        for created in self._sources:
            created.close()
        self._sources.clear()


def fill(portal: Portal, slow_view: str) -> None:
    portal.execute(PORTAL_USERS_DDL)
    for row in CONTRACT_ROWS:
        portal.execute("INSERT INTO portal_users VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
    portal.execute(slow_view)
