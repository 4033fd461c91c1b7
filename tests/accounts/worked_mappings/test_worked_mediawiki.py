"""MediaWiki on MariaDB (binary schema): the worked mapping from docs/legacy-mapping.md, end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from worked_support import (
    Account,
    assert_login_lookup_uses_an_index,
    check_login,
    check_wrong_password,
    doc_mapping,
    mediawiki_a,
    mediawiki_b,
    mediawiki_pbkdf2,
)

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, mariadb_database

pytestmark = pytest.mark.mariadb

# maintenance/tables-generated.sql (MediaWiki 1.39, MySQL), table "user"; CHARSET=binary throughout.
SCHEMA = """
CREATE TABLE `user` (
  user_id INT UNSIGNED AUTO_INCREMENT NOT NULL,
  user_name VARBINARY(255) DEFAULT '' NOT NULL,
  user_real_name VARBINARY(255) DEFAULT '' NOT NULL,
  user_password TINYBLOB NOT NULL,
  user_newpassword TINYBLOB NOT NULL,
  user_newpass_time BINARY(14) DEFAULT NULL,
  user_email TINYBLOB NOT NULL,
  user_touched BINARY(14) NOT NULL,
  user_token BINARY(32) DEFAULT '' NOT NULL,
  user_email_authenticated BINARY(14) DEFAULT NULL,
  user_email_token BINARY(32) DEFAULT NULL,
  user_email_token_expires BINARY(14) DEFAULT NULL,
  user_registration BINARY(14) DEFAULT NULL,
  user_editcount INT UNSIGNED DEFAULT NULL,
  user_password_expires VARBINARY(14) DEFAULT NULL,
  UNIQUE INDEX user_name (user_name),
  INDEX user_email_token (user_email_token),
  INDEX user_email (user_email(50)),
  PRIMARY KEY(user_id)
) ENGINE=InnoDB DEFAULT CHARSET=binary
"""


def _mw_time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y%m%d%H%M%S")


ALICE = Account(
    "alice",  # MediaWiki capitalises the first letter: the account is "Alice"
    "wiki-pbkdf2-pw",
    "ok",
    {
        "legacy_username": "Alice",
        "name": "Alice Liddell",
        "email": "alice@example.org",
        "organization": "Example Research Wiki",
    },
)
BOB = Account("Bob_smith", "salted-md5-pw", "ok", {"legacy_username": "Bob smith", "name": "Bob Smith"})
CAROL = Account("Carol", "unsalted-md5-pw", "ok", {"legacy_username": "Carol", "email": "carol@example.org"})
DAVE = Account("Dave", "expired-pw", "expired")
ERIN = Account("Erin", "not-yet-expired-pw", "ok", {"legacy_username": "Erin"})
EMILE = Account("émile", "unicode-name-pw", "ok", {"legacy_username": "Émile", "name": "Émile Zola"})

# user_id, user_name, account, hash maker, e-mail, real name, password expiry
ROWS: list[tuple[int, str, Account, Callable[[str], str], str, str, str | None]] = [
    (1, "Alice", ALICE, mediawiki_pbkdf2, "alice@example.org", "Alice Liddell", None),
    (2, "Bob smith", BOB, mediawiki_b, "bob@example.org", "Bob Smith", None),
    (3, "Carol", CAROL, mediawiki_a, "carol@example.org", "", None),
    (4, "Dave", DAVE, mediawiki_pbkdf2, "dave@example.org", "", _mw_time(-timedelta(days=1))),
    (5, "Erin", ERIN, mediawiki_pbkdf2, "erin@example.org", "", _mw_time(timedelta(days=30))),
    (6, "Émile", EMILE, mediawiki_pbkdf2, "emile@example.org", "Émile Zola", None),
]


@pytest.fixture(scope="module")
def wiki() -> Iterator[ThrowawayDatabase]:
    with mariadb_database("worked_mediawiki") as db:
        db.script(SCHEMA)
        touched = _mw_time(timedelta(0))
        for user_id, name, account, make, email, real_name, expires in ROWS:
            db.execute(
                "INSERT INTO `user` (user_id, user_name, user_real_name, user_password, user_newpassword, "
                "user_email, user_touched, user_registration, user_editcount, user_password_expires) "
                "VALUES (%s, %s, %s, %s, '', %s, %s, %s, 0, %s)",
                (user_id, name.encode(), real_name.encode(), make(account.password).encode(), email.encode(),
                 touched.encode(), touched.encode(), expires.encode() if expires else None),
            )  # fmt: skip
        yield db


@pytest.fixture
def login(wiki: ThrowawayDatabase, bridge: Callable[[str, str], None]) -> None:
    bridge(wiki.reader_url, doc_mapping("mediawiki"))


def test_the_mapping_fits_the_schema(wiki: ThrowawayDatabase) -> None:
    source = SqlUserSource(wiki.reader_url, parse_mapping(doc_mapping("mediawiki"), source="mediawiki"))
    try:
        assert source.check() == []
        users = {u.username: u for u in source.iter_all(errors=lambda e: pytest.fail(e.problem))}
        assert sorted(users) == sorted(row[1] for row in ROWS)
        assert users["Dave"].state == "expired"
        assert users["Dave"].state_reason == "[state.expired] user_password_expires is in the past"
        assert source.get_by_login("ALICE") is None  # only the first letter is case-insensitive
    finally:
        source.close()


@pytest.mark.parametrize("account", [row[2] for row in ROWS], ids=repr)
def test_login(login: None, account: Account) -> None:
    check_login(account)


@pytest.mark.parametrize("account", [ALICE, BOB, CAROL], ids=repr)
def test_wrong_password(login: None, account: Account) -> None:
    check_wrong_password(account)


def test_one_indexed_query_per_login(wiki: ThrowawayDatabase) -> None:
    source = SqlUserSource(wiki.reader_url, parse_mapping(doc_mapping("mediawiki"), source="mediawiki"))
    assert_login_lookup_uses_an_index(wiki, source, "user", "alice")
