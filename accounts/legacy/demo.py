"""A demo "portal" database: a SQLite file whose users have hashes in several legacy formats.

``create_demo_database(path)`` (re)creates it, atomically; ``DEMO_MAPPING_PATH`` is the mapping
file that fits it, and ``DEMO_USERS`` lists who is inside with their (demo-only!) passwords::

    LEGACY_DATABASE_URL = "sqlite:////abs/path/portal-demo.db"
    LEGACY_MAPPING = DEMO_MAPPING_PATH

Hashes are computed when the file is created (fresh salts every time), with the libraries the
portal's own language would use: bcrypt (PHP's ``$2y$``), Django's pbkdf2_sha256, WordPress's
phpass ``$P$`` and glibc's sha512-crypt ``$6$``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import sqlite3
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeAlias

import bcrypt
from passlib.hash import phpass, sha512_crypt  # type: ignore[import-untyped]  # no stubs

__all__ = [
    "DEMO_MAPPING_PATH",
    "DEMO_USERS",
    "PORTAL_USERS_DDL",
    "DemoScheme",
    "DemoUser",
    "create_demo_database",
    "hash_demo_password",
]

DEMO_MAPPING_PATH: Final = Path(__file__).with_name("demo_mapping.toml")

PORTAL_USERS_DDL: Final = """
CREATE TABLE portal_users (
    uid INTEGER PRIMARY KEY,
    login TEXT,
    pass_hash TEXT,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    institution TEXT,
    status INTEGER
)
"""  # valid in SQLite and PostgreSQL alike; no UNIQUE on login, as in many real portals

DemoScheme: TypeAlias = Literal["bcrypt-2y", "django-pbkdf2_sha256", "phpass", "sha512-crypt"]

_BCRYPT_COST: Final = 10
_PBKDF2_ITERATIONS: Final = 100_000  # Django 5.2 uses 1,000,000; fewer keep the demo quick
_PHPASS_ROUNDS: Final = 13  # log2 of the iterations: WordPress writes $P$B (PasswordHash(8) adds 5)
_SHA512_CRYPT_ROUNDS: Final = 5000  # glibc's default, so the hash carries no rounds= field


@dataclass(frozen=True, slots=True)
class DemoUser:
    """One row of the demo portal. The password is a demo password: never use it anywhere real."""

    uid: int
    username: str
    password: str
    scheme: DemoScheme
    scheme_description: str
    given_name: str
    family_name: str
    email: str | None
    institution: str | None
    status: int  # 1 active, 0 suspended

    def __repr__(self) -> str:
        return f"DemoUser(uid={self.uid}, username={self.username!r}, scheme={self.scheme!r})"


DEMO_USERS: Final[tuple[DemoUser, ...]] = (
    DemoUser(
        1,
        "alice",
        "wonderland-demo-1",
        "bcrypt-2y",
        "bcrypt $2y$ cost 10, as PHP's password_hash()",
        "Alice",
        "Liddell",
        "alice@example.org",
        "Example University",
        1,
    ),
    DemoUser(
        2,
        "bob",
        "builder-demo-2",
        "django-pbkdf2_sha256",
        "Django pbkdf2_sha256, 100000 iterations",
        "Bob",
        "Baker",
        "bob@example.org",
        "Example Institute of Technology",
        1,
    ),
    DemoUser(
        3,
        "carol",
        "carol-demo-3",
        "phpass",
        "phpass portable $P$B (WordPress before 6.8), 2^13 iterations of MD5",
        "Carol",
        "Chen",
        "carol@example.org",
        "Example College",
        1,
    ),
    DemoUser(
        4,
        "dave",
        "dave-demo-4",
        "sha512-crypt",
        "sha512-crypt $6$, 5000 rounds (glibc crypt()); no e-mail address on file",
        "Dave",
        "Dawson",
        None,
        "Example University",
        1,
    ),
    DemoUser(
        5,
        "erin",
        # 98 UTF-8 bytes; byte 72 is the first byte of "é": bcrypt sees only the first 72 bytes.
        "Erin has a demo passphrase that runs past the 72-byte bcrypt limit: café au lait",
        "bcrypt-2y",
        "bcrypt $2y$ cost 10 over a password longer than 72 bytes (only the first 72 count)",
        "Erin",
        "Evans",
        "erin@example.org",
        "Example University",
        1,
    ),
    DemoUser(
        6,
        "frank",
        "frank-demo-6",
        "bcrypt-2y",
        "bcrypt $2y$ cost 10; the account is suspended (status 0)",
        "Frank",
        "Foster",
        "frank@example.org",
        "Example College",
        0,
    ),
)


def hash_demo_password(user: DemoUser) -> str:
    """A fresh hash of ``user.password`` in ``user.scheme``."""
    password = user.password.encode("utf-8")
    if user.scheme == "bcrypt-2y":
        # The bcrypt package writes $2b$ and refuses more than 72 bytes; PHP writes $2y$ (the same
        # algorithm) and silently uses the first 72 bytes.
        hashed = bcrypt.hashpw(password[:72], bcrypt.gensalt(_BCRYPT_COST)).decode("ascii")
        return "$2y$" + hashed.removeprefix("$2b$")
    if user.scheme == "django-pbkdf2_sha256":
        alphabet = string.ascii_letters + string.digits
        salt = "".join(secrets.choice(alphabet) for _ in range(22))
        digest = hashlib.pbkdf2_hmac("sha256", password, salt.encode("ascii"), _PBKDF2_ITERATIONS)
        return f"pbkdf2_sha256${_PBKDF2_ITERATIONS}${salt}${base64.b64encode(digest).decode('ascii')}"
    if user.scheme == "phpass":
        return str(phpass.using(rounds=_PHPASS_ROUNDS).hash(user.password))
    if user.scheme == "sha512-crypt":
        return str(sha512_crypt.using(rounds=_SHA512_CRYPT_ROUNDS).hash(user.password))
    raise ValueError(f"unknown demo scheme {user.scheme!r}")


def create_demo_database(path: Path) -> None:
    """Create (or replace, atomically) the demo portal database at ``path``.

    The file is built under a temporary name in the same directory and renamed over ``path``, so
    a reader never sees a half-written database and running this twice is fine.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        conn = sqlite3.connect(temporary)
        try:
            with conn:
                conn.execute(PORTAL_USERS_DDL)
                conn.executemany(
                    "INSERT INTO portal_users (uid, login, pass_hash, email, first_name, last_name, "
                    "institution, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            user.uid,
                            user.username,
                            hash_demo_password(user),
                            user.email,
                            user.given_name,
                            user.family_name,
                            user.institution,
                            user.status,
                        )
                        for user in DEMO_USERS
                    ],
                )
        finally:
            conn.close()
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
