"""WordPress (multisite tables) on MariaDB: the worked mapping from docs/legacy-mapping.md, end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from worked_support import (
    Account,
    assert_login_lookup_uses_an_index,
    check_login,
    check_wrong_password,
    doc_mapping,
    wordpress_bcrypt,
    wordpress_phpass,
)

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, mariadb_database

pytestmark = pytest.mark.mariadb

# wp-admin/includes/schema.php (wp_get_db_schema), with the two columns multisite adds to wp_users.
SCHEMA = """
CREATE TABLE wp_users (
  ID bigint(20) unsigned NOT NULL auto_increment,
  user_login varchar(60) NOT NULL default '',
  user_pass varchar(255) NOT NULL default '',
  user_nicename varchar(50) NOT NULL default '',
  user_email varchar(100) NOT NULL default '',
  user_url varchar(100) NOT NULL default '',
  user_registered datetime NOT NULL default '0000-00-00 00:00:00',
  user_activation_key varchar(255) NOT NULL default '',
  user_status int(11) NOT NULL default '0',
  display_name varchar(250) NOT NULL default '',
  spam tinyint(2) NOT NULL default '0',
  deleted tinyint(2) NOT NULL default '0',
  PRIMARY KEY  (ID),
  KEY user_login_key (user_login),
  KEY user_nicename (user_nicename),
  KEY user_email (user_email)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
CREATE TABLE wp_usermeta (
  umeta_id bigint(20) unsigned NOT NULL auto_increment,
  user_id bigint(20) unsigned NOT NULL default '0',
  meta_key varchar(255) default NULL,
  meta_value longtext,
  PRIMARY KEY  (umeta_id),
  KEY user_id (user_id),
  KEY meta_key (meta_key(191))
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci
"""

BIG_ID = 9007199254740993  # above 2**53: the id must travel as text, exactly

ADMIN = Account(
    "admin",
    " Tr0ub4dor&3 ",  # WordPress trims the password before hashing it and before checking it
    "ok",
    {
        "legacy_username": "admin",
        "name": "Ada Admin",
        "email": "admin@example.org",
        "organization": "Example University",
    },
)
CAROL = Account("carol", "phpass-era-password", "ok", {"name": "Carol Chen", "email": "carol@example.org"})
CAROL_BY_MAIL = Account("carol@example.org", "phpass-era-password", "ok", {"legacy_username": "carol"})
AJONES = Account("ajones", "aj-secret", "ok", {"legacy_username": "AJones", "name": "Alice Jones"})
BIG = Account("big", "big-id-pw", "ok", {"legacy_username": "big"})
SPAMMER = Account("spammer", "spam-pw", "suspended")
OLD_SPAMMER = Account("oldspam", "old-spam-pw", "suspended")
GONE = Account("gone", "gone-pw", "deleted")
# ID, stored login, account, hash maker, e-mail, spam, deleted, user_status, first name, last name
ROWS: list[tuple[int, str, Account, Callable[[str], str], str, int, int, int, str | None, str | None]] = [
    (1, "admin", ADMIN, wordpress_bcrypt, "admin@example.org", 0, 0, 0, "Ada", "Admin"),
    (2, "carol", CAROL, wordpress_phpass, "carol@example.org", 0, 0, 0, "Carol", "Chen"),
    (3, "AJones", AJONES, wordpress_bcrypt, "aj@example.org", 0, 0, 0, "Alice", "Jones"),
    (4, "spammer", SPAMMER, wordpress_bcrypt, "spam@example.org", 1, 0, 0, None, None),
    (5, "oldspam", OLD_SPAMMER, wordpress_phpass, "oldspam@example.org", 0, 0, 1, None, None),
    (6, "gone", GONE, wordpress_bcrypt, "gone@example.org", 0, 1, 0, None, None),
    (BIG_ID, "big", BIG, wordpress_bcrypt, "big@example.org", 0, 0, 0, None, None),
]


@pytest.fixture(scope="module")
def site() -> Iterator[ThrowawayDatabase]:
    with mariadb_database("worked_wordpress") as db:
        db.script(SCHEMA)
        for wp_id, stored_login, account, make, email, spam, deleted, status, first, last in ROWS:
            db.execute(
                "INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, user_registered, "
                "user_status, display_name, spam, deleted) VALUES (%s, %s, %s, %s, %s, NOW(), %s, %s, %s, %s)",
                (
                    wp_id,
                    stored_login,
                    make(account.password),
                    stored_login.lower(),
                    email,
                    status,
                    stored_login,
                    spam,
                    deleted,
                ),
            )
            for key, value in (("nickname", stored_login), ("first_name", first), ("last_name", last)):
                db.execute(
                    "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, %s, %s)",
                    (wp_id, key, value or ""),
                )
        # A second first_name row (add_user_meta without $unique): the first one still wins.
        db.execute(
            "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (2, 'first_name', 'Caroline')"
        )
        yield db


@pytest.fixture
def login(site: ThrowawayDatabase, bridge: Callable[[str, str], None]) -> None:
    bridge(site.reader_url, doc_mapping("wordpress"))


def test_the_mapping_fits_the_schema(site: ThrowawayDatabase) -> None:
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("wordpress"), source="wordpress"))
    try:
        assert source.check() == []
        users = {
            u.legacy_id: u for u in source.iter_all(batch_size=3, errors=lambda e: pytest.fail(e.problem))
        }
        assert sorted(users, key=int) == [str(row[0]) for row in ROWS]
        assert users[str(BIG_ID)].username == "big"
        assert users["1"].trim_password is True
        assert (users["4"].state, users["5"].state, users["6"].state) == ("suspended", "suspended", "deleted")
    finally:
        source.close()


@pytest.mark.parametrize("account", [row[2] for row in ROWS] + [CAROL_BY_MAIL], ids=repr)
def test_login(login: None, account: Account) -> None:
    check_login(account)


def test_surrounding_whitespace_is_what_wordpress_ignores(login: None) -> None:
    check_login(Account("admin", "Tr0ub4dor&3", "ok"))
    check_login(Account("admin", "\tTr0ub4dor&3\n", "ok"))
    check_login(Account("admin", "Tr0ub4dor &3", "mismatch"))


@pytest.mark.parametrize("account", [ADMIN, CAROL, AJONES, BIG], ids=repr)
def test_wrong_password(login: None, account: Account) -> None:
    check_wrong_password(account)


def test_one_indexed_query_per_login(site: ThrowawayDatabase) -> None:
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("wordpress"), source="wordpress"))
    assert_login_lookup_uses_an_index(site, source, "u", "admin")
