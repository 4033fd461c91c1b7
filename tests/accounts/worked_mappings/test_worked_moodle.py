"""Moodle on PostgreSQL: the worked mapping from docs/legacy-mapping.md, end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from worked_support import (
    Account,
    assert_login_lookup_uses_an_index,
    bcrypt_2y,
    check_login,
    check_wrong_password,
    doc_mapping,
    moodle_legacy_md5,
    moodle_sha512_crypt,
)

from accounts.legacy.mapping import parse_mapping
from accounts.legacy.sql import SqlUserSource
from tests.accounts.legacy.legacy_servers import ThrowawayDatabase, postgres_database

pytestmark = pytest.mark.postgres

SITE_SALT = "a;9Zq#-site-salt-from-config.php"  # $CFG->passwordsaltmain

# lib/db/install.xml, table "user", as Moodle's PostgreSQL generator writes it (trimmed).
SCHEMA = """
CREATE TABLE mdl_user (
  id BIGSERIAL,
  auth VARCHAR(20) NOT NULL DEFAULT 'manual',
  confirmed SMALLINT NOT NULL DEFAULT 0,
  policyagreed SMALLINT NOT NULL DEFAULT 0,
  deleted SMALLINT NOT NULL DEFAULT 0,
  suspended SMALLINT NOT NULL DEFAULT 0,
  mnethostid BIGINT NOT NULL DEFAULT 0,
  username VARCHAR(100) NOT NULL DEFAULT '',
  password VARCHAR(255) NOT NULL DEFAULT '',
  idnumber VARCHAR(255) NOT NULL DEFAULT '',
  firstname VARCHAR(100) NOT NULL DEFAULT '',
  lastname VARCHAR(100) NOT NULL DEFAULT '',
  email VARCHAR(100) NOT NULL DEFAULT '',
  emailstop SMALLINT NOT NULL DEFAULT 0,
  institution VARCHAR(255) NOT NULL DEFAULT '',
  department VARCHAR(255) NOT NULL DEFAULT '',
  lastlogin BIGINT NOT NULL DEFAULT 0,
  timecreated BIGINT NOT NULL DEFAULT 0,
  timemodified BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT mdl_user_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX mdl_user_mneuse_uix ON mdl_user (mnethostid, username);
CREATE INDEX mdl_user_ema_ix ON mdl_user (email);
CREATE INDEX mdl_user_del_ix ON mdl_user (deleted);
CREATE INDEX mdl_user_con_ix ON mdl_user (confirmed)
"""

ADMIN = Account(
    "admin",
    "Moodle-Admin-1!",
    "ok",
    {
        "legacy_username": "admin",
        "name": "Admin User",
        "email": "admin@example.org",
        "organization": "Example University",
    },
)
LEGACY = Account(
    "JSmith",  # Moodle lower-cases what is typed
    "legacy-md5-pw",
    "ok",
    {"legacy_username": "jsmith", "name": "John Smith", "organization": "Example College"},
)
LEGACY_BY_MAIL = Account("jsmith@example.org", "legacy-md5-pw", "ok", {"legacy_username": "jsmith"})
NEW_STYLE = Account("sha512user", "moodle-4.3-pw", "ok", {"email": "sha512@example.org"})
GONE = Account("gone", "gone-pw", "deleted")
PAUSED = Account("paused", "paused-pw", "suspended")
NOLOGIN = Account("nologinuser", "nologin-pw", "suspended")
LDAP = Account("ldapuser", "whatever-ldap-says", "no_hash")  # password kept by LDAP: 'not cached'
UNCONFIRMED = Account("unconfirmed", "unconfirmed-pw", "inactive")

# id, stored username, account, stored password, auth, confirmed, deleted, suspended, mnethostid,
# first, last, email, institution
Row = tuple[int, str, Account, Callable[[str], str], str, int, int, int, int, str, str, str, str]
ROWS: list[Row] = [
    (2, "admin", ADMIN, bcrypt_2y, "manual", 1, 0, 0, 1, "Admin", "User", "admin@example.org", "Example University"),
    (3, "jsmith", LEGACY, lambda pw: moodle_legacy_md5(pw, SITE_SALT), "manual", 1, 0, 0, 1, "John", "Smith",
     "jsmith@example.org", "Example College"),
    (4, "sha512user", NEW_STYLE, moodle_sha512_crypt, "manual", 1, 0, 0, 1, "Sha", "User", "sha512@example.org", ""),
    (5, "gone", GONE, bcrypt_2y, "manual", 1, 1, 0, 1, "Gone", "User", "gone@example.org", ""),
    (6, "paused", PAUSED, bcrypt_2y, "manual", 1, 0, 1, 1, "Paused", "User", "paused@example.org", ""),
    (7, "nologinuser", NOLOGIN, bcrypt_2y, "nologin", 1, 0, 0, 1, "No", "Login", "nologin@example.org", ""),
    (8, "ldapuser", LDAP, lambda pw: "not cached", "ldap", 1, 0, 0, 1, "Ldap", "User", "ldap@example.org", ""),
    (9, "unconfirmed", UNCONFIRMED, bcrypt_2y, "email", 0, 0, 0, 1, "Un", "Confirmed", "new@example.org", ""),
    # The same username on another MNet host is someone else: never a duplicate of id 3.
    (10, "jsmith", Account("-", "remote-pw", "-"), bcrypt_2y, "mnet", 1, 0, 0, 2, "Remote", "Smith",
     "jsmith@remote.example.org", "Remote University"),
]  # fmt: skip


@pytest.fixture(scope="module")
def site() -> Iterator[ThrowawayDatabase]:
    with postgres_database("worked_moodle") as db:
        db.script(SCHEMA)
        for row in ROWS:
            (
                uid,
                username,
                account,
                make,
                auth,
                confirmed,
                deleted,
                suspended,
                host,
                first,
                last,
                email,
                inst,
            ) = row
            db.execute(
                "INSERT INTO mdl_user (id, auth, confirmed, deleted, suspended, mnethostid, username, password, "
                "firstname, lastname, email, institution, timecreated) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (uid, auth, confirmed, deleted, suspended, host, username, make(account.password), first, last,
                 email, inst, 1700000000),
            )  # fmt: skip
        yield db


@pytest.fixture
def login(
    site: ThrowawayDatabase, bridge: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_PASSWORDSALTMAIN", SITE_SALT)
    bridge(site.reader_url, doc_mapping("moodle"))


def test_the_mapping_fits_the_schema(site: ThrowawayDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_PASSWORDSALTMAIN", SITE_SALT)
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("moodle"), source="moodle"))
    try:
        assert source.check() == []
        assert source.count() == len(ROWS) - 1  # the remote MNet user is not ours
        users = {u.legacy_id: u for u in source.iter_all(errors=lambda e: pytest.fail(e.problem))}
        assert users["3"].password_scheme == "moodle_md5" and users["3"].site_salt == SITE_SALT
        assert users["2"].password_scheme is None  # bcrypt: identified by its format
        assert {k: u.state for k, u in users.items() if u.state != "active"} == {
            "5": "deleted",
            "6": "suspended",
            "7": "suspended",
            "9": "inactive",
        }
    finally:
        source.close()


@pytest.mark.parametrize("account", [row[2] for row in ROWS[:-1]] + [LEGACY_BY_MAIL], ids=repr)
def test_login(login: None, account: Account) -> None:
    check_login(account)


@pytest.mark.parametrize("account", [ADMIN, LEGACY, NEW_STYLE], ids=repr)
def test_wrong_password(login: None, account: Account) -> None:
    check_wrong_password(account)


def test_the_legacy_hash_needs_the_right_site_salt(
    site: ThrowawayDatabase, bridge: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODLE_PASSWORDSALTMAIN", "another-site")
    bridge(site.reader_url, doc_mapping("moodle"))
    check_login(Account("jsmith", LEGACY.password, "mismatch"))


def test_one_indexed_query_per_login(site: ThrowawayDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODLE_PASSWORDSALTMAIN", SITE_SALT)
    source = SqlUserSource(site.reader_url, parse_mapping(doc_mapping("moodle"), source="moodle"))
    assert_login_lookup_uses_an_index(site, source, "mdl_user", "JSmith")
