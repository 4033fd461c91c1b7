"""phpBB 3.3 on MariaDB: the worked mapping from docs/legacy-mapping.md, end to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from worked_support import (
    Account,
    argon2id,
    assert_login_lookup_uses_an_index,
    bcrypt_2y,
    check_login,
    check_wrong_password,
    doc_mapping,
    phpass_portable,
)

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, mariadb_database

pytestmark = pytest.mark.mariadb

# phpBB 3.3's install/schemas (mysql_41), trimmed; phpBB creates its tables in utf8_bin.
SCHEMA = """
CREATE TABLE phpbb_users (
  user_id int(10) UNSIGNED NOT NULL auto_increment,
  user_type tinyint(2) DEFAULT '0' NOT NULL,
  group_id mediumint(8) UNSIGNED DEFAULT '3' NOT NULL,
  user_permissions mediumtext NOT NULL,
  user_regdate int(11) UNSIGNED DEFAULT '0' NOT NULL,
  username varchar(255) DEFAULT '' NOT NULL,
  username_clean varchar(255) DEFAULT '' NOT NULL,
  user_password varchar(255) DEFAULT '' NOT NULL,
  user_passchg int(11) UNSIGNED DEFAULT '0' NOT NULL,
  user_email varchar(100) DEFAULT '' NOT NULL,
  user_lastvisit int(11) UNSIGNED DEFAULT '0' NOT NULL,
  user_inactive_reason tinyint(2) DEFAULT '0' NOT NULL,
  user_inactive_time int(11) UNSIGNED DEFAULT '0' NOT NULL,
  PRIMARY KEY (user_id),
  KEY user_birthday (user_regdate),
  KEY user_type (user_type),
  UNIQUE username_clean (username_clean),
  KEY user_email (user_email)
) CHARACTER SET `utf8` COLLATE `utf8_bin`;
CREATE TABLE phpbb_banlist (
  ban_id int(10) UNSIGNED NOT NULL auto_increment,
  ban_userid int(10) UNSIGNED DEFAULT '0' NOT NULL,
  ban_ip varchar(40) DEFAULT '' NOT NULL,
  ban_email varchar(100) DEFAULT '' NOT NULL,
  ban_start int(11) UNSIGNED DEFAULT '0' NOT NULL,
  ban_end int(11) UNSIGNED DEFAULT '0' NOT NULL,
  ban_exclude tinyint(1) UNSIGNED DEFAULT '0' NOT NULL,
  ban_reason varchar(255) DEFAULT '' NOT NULL,
  ban_give_reason varchar(255) DEFAULT '' NOT NULL,
  PRIMARY KEY (ban_id),
  KEY ban_end (ban_end),
  KEY ban_user (ban_userid, ban_exclude)
) CHARACTER SET `utf8` COLLATE `utf8_bin`;
CREATE TABLE phpbb_profile_fields_data (
  user_id int(10) UNSIGNED DEFAULT '0' NOT NULL,
  pf_phpbb_location varchar(255) DEFAULT '' NOT NULL,
  pf_full_name varchar(255) DEFAULT '' NOT NULL,
  pf_organization varchar(255) DEFAULT '' NOT NULL,
  PRIMARY KEY (user_id)
) CHARACTER SET `utf8` COLLATE `utf8_bin`
"""

ANONYMOUS = Account("anonymous", "anything", "no_hash")  # phpBB's guest row has an empty password
FOUNDER = Account(
    "admin",  # username "Admin", username_clean "admin"
    "phpbb-founder-pw",
    "ok",
    {
        "legacy_username": "Admin",
        "name": "Board Founder",
        "email": "admin@example.org",
        "organization": "Example University",
    },
)
OLD = Account(
    "JDoe",
    "phpbb-3.0-pw",
    "ok",
    {"legacy_username": "JDoe", "name": "Jane Doe", "organization": "Example Lab"},
)
OLD_LOWER = Account("jdoe", "phpbb-3.0-pw", "ok", {"legacy_username": "JDoe"})
ARGON = Account("argon", "phpbb-3.3-argon-pw", "ok", {"email": "argon@example.org", "name": ""})
SLEEPER = Account("sleeper", "sleeper-pw", "inactive")  # user_type 1: not activated
BOT = Account("googlebot", "bot-pw", "inactive")  # user_type 2: ignored
BANNED = Account("banned", "banned-pw", "suspended")
PAROLED = Account("paroled", "paroled-pw", "ok")  # the ban ended

# user_id, username, account, hash maker, user_type, e-mail, full name, organization
ROWS: list[tuple[int, str, Account, Callable[[str], str], int, str, str, str]] = [
    (1, "Anonymous", ANONYMOUS, lambda pw: "", 2, "", "", ""),
    (2, "Admin", FOUNDER, bcrypt_2y, 3, "admin@example.org", "Board Founder", "Example University"),
    (
        3,
        "JDoe",
        OLD,
        lambda pw: phpass_portable(pw, ident="H", rounds=11),
        0,
        "jdoe@example.org",
        "Jane Doe",
        "Example Lab",
    ),
    (4, "argon", ARGON, argon2id, 0, "argon@example.org", "", ""),
    (5, "Sleeper", SLEEPER, bcrypt_2y, 1, "sleeper@example.org", "", ""),
    (6, "Googlebot", BOT, bcrypt_2y, 2, "", "", ""),
    (7, "Banned", BANNED, bcrypt_2y, 0, "banned@example.org", "", ""),
    (8, "Paroled", PAROLED, bcrypt_2y, 0, "paroled@example.org", "", ""),
]


@pytest.fixture(scope="module")
def board() -> Iterator[ThrowawayDatabase]:
    with mariadb_database("worked_phpbb") as db:
        db.script(SCHEMA)
        for user_id, username, account, make, user_type, email, full_name, organization in ROWS:
            db.execute(
                "INSERT INTO phpbb_users (user_id, user_type, user_permissions, username, username_clean, "
                "user_password, user_email, user_regdate) VALUES (%s, %s, '', %s, %s, %s, %s, %s)",
                (user_id, user_type, username, username.lower(), make(account.password), email, 1700000000),
            )
            if full_name or organization:
                db.execute(
                    "INSERT INTO phpbb_profile_fields_data (user_id, pf_full_name, pf_organization) VALUES (%s, %s, %s)",
                    (user_id, full_name, organization),
                )
        now = int(time.time())
        bans = [
            (7, now - 86400, 0, 0),  # permanent
            (8, now - 86400 * 30, now - 86400, 0),  # ended yesterday
            (8, now - 86400, now + 86400, 1),  # an exclusion ("never ban"), not a ban
        ]
        for user_id, start, end, exclude in bans:
            db.execute(
                "INSERT INTO phpbb_banlist (ban_userid, ban_start, ban_end, ban_exclude) VALUES (%s, %s, %s, %s)",
                (user_id, start, end, exclude),
            )
        yield db


@pytest.fixture
def login(board: ThrowawayDatabase, bridge: Callable[[str, str], None]) -> None:
    bridge(board.reader_url, doc_mapping("phpbb"))


def test_the_mapping_fits_the_schema(board: ThrowawayDatabase) -> None:
    source = SqlUserSource(board.reader_url, parse_mapping(doc_mapping("phpbb"), source="phpbb"))
    try:
        assert source.check() == []
        states = {u.username: u.state for u in source.iter_all(errors=lambda e: pytest.fail(e.problem))}
        assert states == {
            "Anonymous": "inactive",
            "Admin": "active",
            "JDoe": "active",
            "argon": "active",
            "Sleeper": "inactive",
            "Googlebot": "inactive",
            "Banned": "suspended",
            "Paroled": "active",
        }
        assert source.get_by_login("\U0001f642") is None  # not even storable in utf8 (3-byte): no account
    finally:
        source.close()


@pytest.mark.parametrize("account", [row[2] for row in ROWS] + [OLD_LOWER], ids=repr)
def test_login(login: None, account: Account) -> None:
    check_login(account)


@pytest.mark.parametrize("account", [FOUNDER, OLD, ARGON], ids=repr)
def test_wrong_password(login: None, account: Account) -> None:
    check_wrong_password(account)


def test_one_indexed_query_per_login(board: ThrowawayDatabase) -> None:
    source = SqlUserSource(board.reader_url, parse_mapping(doc_mapping("phpbb"), source="phpbb"))
    assert_login_lookup_uses_an_index(board, source, "u", "JDoe")
