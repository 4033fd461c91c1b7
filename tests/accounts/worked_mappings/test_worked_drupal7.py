"""Drupal 7 on MariaDB: the worked mapping from docs/legacy-mapping.md, end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from worked_support import (
    Account,
    assert_login_lookup_uses_an_index,
    check_login,
    check_wrong_password,
    doc_mapping,
    drupal7,
    drupal7_upgraded_md5,
    password_base64_encode,
    phpass_portable,
)

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, mariadb_database

pytestmark = pytest.mark.mariadb

# Drupal 7's system schema (modules/user/user.install, field_sql_storage), trimmed to the columns
# the mapping reads plus a few neighbours, with Drupal's types.
SCHEMA = """
CREATE TABLE users (
  uid int(10) unsigned NOT NULL DEFAULT 0,
  name varchar(60) NOT NULL DEFAULT '',
  pass varchar(128) NOT NULL DEFAULT '',
  mail varchar(254) DEFAULT '',
  theme varchar(255) NOT NULL DEFAULT '',
  created int(11) NOT NULL DEFAULT 0,
  access int(11) NOT NULL DEFAULT 0,
  login int(11) NOT NULL DEFAULT 0,
  status tinyint(4) NOT NULL DEFAULT 0,
  timezone varchar(32) DEFAULT NULL,
  language varchar(12) NOT NULL DEFAULT '',
  init varchar(254) DEFAULT '',
  data longblob,
  PRIMARY KEY (uid),
  UNIQUE KEY name (name),
  KEY access (access),
  KEY created (created),
  KEY mail (mail)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE field_data_field_full_name (
  entity_type varchar(128) NOT NULL DEFAULT '',
  bundle varchar(128) NOT NULL DEFAULT '',
  deleted tinyint(4) NOT NULL DEFAULT 0,
  entity_id int(10) unsigned NOT NULL,
  revision_id int(10) unsigned DEFAULT NULL,
  language varchar(32) NOT NULL DEFAULT '',
  delta int(10) unsigned NOT NULL,
  field_full_name_value varchar(255) DEFAULT NULL,
  field_full_name_format varchar(255) DEFAULT NULL,
  PRIMARY KEY (entity_type, entity_id, deleted, delta, language)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE field_data_field_organization (
  entity_type varchar(128) NOT NULL DEFAULT '',
  bundle varchar(128) NOT NULL DEFAULT '',
  deleted tinyint(4) NOT NULL DEFAULT 0,
  entity_id int(10) unsigned NOT NULL,
  revision_id int(10) unsigned DEFAULT NULL,
  language varchar(32) NOT NULL DEFAULT '',
  delta int(10) unsigned NOT NULL,
  field_organization_value varchar(255) DEFAULT NULL,
  field_organization_format varchar(255) DEFAULT NULL,
  PRIMARY KEY (entity_type, entity_id, deleted, delta, language)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci
"""

ADMIN = Account(
    "admin",
    "drupal-admin-pw",
    "ok",
    {
        "legacy_username": "admin",
        "name": "Site Admin",
        "email": "admin@example.org",
        "organization": "Example University",
    },
)
JANE = Account(
    "jane.doe",  # stored as "Jane.Doe": Drupal's name column compares case-insensitively
    "correct horse battery staple",
    "ok",
    {
        "legacy_username": "Jane.Doe",
        "name": "Jane Doe",
        "email": "jane@example.org",
        "organization": "Example Lab",
    },
)
UPGRADED = Account("oldtimer", "from-drupal-6", "ok", {"legacy_username": "oldtimer", "organization": ""})
IMPORTED = Account("imported", "phpass-import", "ok", {"email": "imported@example.org"})
BLOCKED = Account("blocked", "blocked-pw", "suspended")
# uid, account, stored hash maker, mail, status, full name, organization
ROWS: list[tuple[int, Account, Callable[[str], str], str, int, str | None, str | None]] = [
    (1, ADMIN, drupal7, "admin@example.org", 1, "Site Admin", "Example University"),
    (2, JANE, drupal7, "jane@example.org", 1, "Jane Doe", "Example Lab"),
    (3, UPGRADED, drupal7_upgraded_md5, "old@example.org", 1, "Old Timer", None),
    (4, IMPORTED, lambda pw: phpass_portable(pw, rounds=13), "imported@example.org", 1, None, None),
    (5, BLOCKED, drupal7, "blocked@example.org", 0, "Blocked User", None),
]
STORED_NAMES = {1: "admin", 2: "Jane.Doe", 3: "oldtimer", 4: "imported", 5: "blocked"}


@pytest.fixture(scope="module")
def site() -> Iterator[ThrowawayDatabase]:
    with mariadb_database("worked_drupal7") as db:
        db.script(SCHEMA)
        # The anonymous user, as Drupal installs it.
        db.execute("INSERT INTO users (uid, name, pass, mail, status) VALUES (0, '', '', '', 0)")
        for uid, account, make, mail, status, full_name, organization in ROWS:
            db.execute(
                "INSERT INTO users (uid, name, pass, mail, status, init, created) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (uid, STORED_NAMES[uid], make(account.password), mail, status, mail, 1700000000 + uid),
            )
            for table, value in (("full_name", full_name), ("organization", organization)):
                if value is not None:
                    db.execute(
                        f"INSERT INTO field_data_field_{table} (entity_type, bundle, deleted, entity_id, "
                        f"revision_id, language, delta, field_{table}_value) "
                        "VALUES ('user', 'user', 0, %s, %s, 'und', 0, %s)",
                        (uid, uid, value),
                    )
        # A translation of Jane's name must not make her row come back twice.
        db.execute(
            "INSERT INTO field_data_field_full_name (entity_type, bundle, deleted, entity_id, revision_id, "
            "language, delta, field_full_name_value) VALUES ('user', 'user', 0, 2, 2, 'de', 0, 'Johanna Doe')"
        )
        yield db


@pytest.fixture
def login(site: ThrowawayDatabase, bridge: Callable[[str, str], None]) -> None:
    bridge(site.reader_url, doc_mapping("drupal7"))


def test_the_reference_hash_matches_drupal() -> None:
    """Drupal 7's scripts/password-hash.sh output for "admin1" (a published value)."""
    stored = "$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS"
    assert drupal7("admin1", salt=stored[4:12]) == stored
    assert len(password_base64_encode(b"\x00" * 6, 6)) == 8


def test_the_mapping_fits_the_schema(site: ThrowawayDatabase) -> None:
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("drupal7"), source="drupal7"))
    try:
        assert source.check() == []
        assert source.count() == len(ROWS)  # uid 0 is not an account
        users = list(source.iter_all(batch_size=2, errors=lambda e: pytest.fail(e.problem)))
        assert [u.legacy_id for u in users] == ["1", "2", "3", "4", "5"]
        assert [u.state for u in users] == ["active"] * 4 + ["suspended"]
    finally:
        source.close()


@pytest.mark.parametrize("account", [row[1] for row in ROWS], ids=repr)
def test_login(login: None, account: Account) -> None:
    check_login(account)


@pytest.mark.parametrize("account", [ADMIN, JANE, UPGRADED, IMPORTED], ids=repr)
def test_wrong_password(login: None, account: Account) -> None:
    check_wrong_password(account)


def test_the_anonymous_row_is_no_account(login: None) -> None:
    check_login(Account("anything", "x", "unknown_user"))


def test_one_indexed_query_per_login(site: ThrowawayDatabase) -> None:
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("drupal7"), source="drupal7"))
    assert_login_lookup_uses_an_index(site, source, "u", "jane.doe")
