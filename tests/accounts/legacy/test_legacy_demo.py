"""The demo portal database: every DEMO_USERS row is there and its hash verifies.

Hashes are checked directly with bcrypt/passlib here (the hasher registry is tested separately).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from passlib.hash import django_pbkdf2_sha256, phpass, sha512_crypt  # type: ignore[import-untyped]

from accounts.legacy.demo import DEMO_MAPPING_PATH, DEMO_USERS, DemoUser, create_demo_database
from accounts.legacy.mapping import load_mapping
from accounts.legacy.sql import SqlUserSource


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlUserSource]:
    path = tmp_path_factory.mktemp("demo") / "portal-demo.db"
    create_demo_database(path)
    create_demo_database(path)  # running twice replaces the file
    source = SqlUserSource(f"sqlite:///{path}", load_mapping(DEMO_MAPPING_PATH))
    yield source
    source.close()


def _verifies(user: DemoUser, stored: str, password: str) -> bool:
    if user.scheme == "bcrypt-2y":
        # PHP's bcrypt uses the first 72 bytes; the bcrypt package refuses longer input.
        return bcrypt.checkpw(password.encode("utf-8")[:72], stored.encode("ascii"))
    if user.scheme == "django-pbkdf2_sha256":
        return bool(django_pbkdf2_sha256.verify(password, stored))
    if user.scheme == "phpass":
        return bool(phpass.verify(password, stored))
    if user.scheme == "sha512-crypt":
        return bool(sha512_crypt.verify(password, stored))
    raise AssertionError(user.scheme)


PREFIX = {
    "bcrypt-2y": "$2y$10$",
    "django-pbkdf2_sha256": "pbkdf2_sha256$100000$",
    "phpass": "$P$B",
    "sha512-crypt": "$6$",
}


def test_demo_mapping_fits_the_demo_database(demo_source: SqlUserSource) -> None:
    assert demo_source.check() == []


@pytest.mark.parametrize("demo", DEMO_USERS, ids=[user.username for user in DEMO_USERS])
def test_every_demo_user_is_present_and_verifies(demo_source: SqlUserSource, demo: DemoUser) -> None:
    user = demo_source.get_by_login(demo.username)
    assert user is not None
    assert user == demo_source.get_by_id(str(demo.uid))
    assert (user.legacy_id, user.username) == (str(demo.uid), demo.username)
    assert (user.given_name, user.family_name, user.email) == (demo.given_name, demo.family_name, demo.email)
    assert user.organization == demo.institution
    assert user.is_active is (demo.status == 1)
    assert user.password_hash is not None and user.password_hash.startswith(PREFIX[demo.scheme])
    assert _verifies(demo, user.password_hash, demo.password)
    assert not _verifies(demo, user.password_hash, "x" + demo.password)
    assert not _verifies(demo, user.password_hash, demo.password.upper())
    assert demo.password != "password"


def test_the_demo_covers_the_cases() -> None:
    schemes = {user.scheme for user in DEMO_USERS}
    assert schemes == set(PREFIX)
    assert any(len(user.password.encode("utf-8")) > 72 and user.scheme == "bcrypt-2y" for user in DEMO_USERS)
    assert any(user.status == 0 for user in DEMO_USERS)
    assert any(user.email is None for user in DEMO_USERS)
    assert (
        len({user.uid for user in DEMO_USERS})
        == len({user.username for user in DEMO_USERS})
        == len(DEMO_USERS)
    )
    assert "demo-" not in repr(DEMO_USERS[0])  # no password in the repr


def test_long_password_counts_only_72_bytes(demo_source: SqlUserSource) -> None:
    erin = next(user for user in DEMO_USERS if len(user.password.encode("utf-8")) > 72)
    stored = demo_source.get_by_login(erin.username)
    assert stored is not None and stored.password_hash is not None
    head = erin.password.encode("utf-8")[:72]
    assert bcrypt.checkpw(head, stored.password_hash.encode("ascii"))
    # The 72nd byte is the first byte of "é": the cut falls inside a character, as in PHP.
    assert head.endswith(b"caf\xc3")
    assert _verifies(erin, stored.password_hash, erin.password[:72] + " something else entirely")


def test_recreating_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "portal.db"
    create_demo_database(path)
    first = path.stat().st_ino
    create_demo_database(path)
    assert path.stat().st_ino != first  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["portal.db"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM portal_users").fetchone() == (len(DEMO_USERS),)
    finally:
        conn.close()
