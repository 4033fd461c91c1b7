"""Shared fixtures: a legacy portal database, registered clients, a live bridge over real HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from accounts.legacy import reset_user_source
from accounts.legacy.demo import PORTAL_USERS_DDL
from tests.factories.hashes import make_hash

TEST_RP_SECRET = "test-rp-secret-" + "s" * 40


@dataclass
class Portal:
    """The legacy portal's user table; tests add the rows they need."""

    path: Path

    def add_user(
        self,
        login: str,
        password: str,
        *,
        scheme: str = "bcrypt",
        email: str | None = None,
        first_name: str | None = "Ada",
        last_name: str | None = "Lovelace",
        institution: str | None = "Example University",
        status: int = 1,
        uid: int | None = None,
        pass_hash: str | None = None,
    ) -> int:
        stored = pass_hash if pass_hash is not None else make_hash(scheme, password)
        with sqlite3.connect(self.path) as db:
            cursor = db.execute(
                "INSERT INTO portal_users (uid, login, pass_hash, email, first_name, last_name, institution, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, login, stored, email if email is not None else f"{login}@example.org", first_name, last_name,
                 institution, status),
            )
            return int(cursor.lastrowid or 0)

    def update(self, uid: int, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        with sqlite3.connect(self.path) as db:
            db.execute(f"UPDATE portal_users SET {assignments} WHERE uid = ?", (*values.values(), uid))  # noqa: S608

    def delete(self, uid: int) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM portal_users WHERE uid = ?", (uid,))


@pytest.fixture
def portal() -> Iterator[Portal]:
    path = Path(settings.LEGACY_DATABASE_URL.removeprefix("sqlite:///"))
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(PORTAL_USERS_DDL)
    reset_user_source()
    yield Portal(path)
    reset_user_source()


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str
    post_logout_redirect_uri: str


@pytest.fixture
def make_client(db: None):
    from oidc.clients import ClientRegistration, register_client

    def make(
        client_id: str = "test-rp",
        *,
        public: bool = False,
        trusted: bool = False,
        auth_method: str = "client_secret_basic",
        redirect_uri: str = "https://rp.example.org/callback",
        post_logout_redirect_uri: str = "https://rp.example.org/logged-out",
    ) -> Client:
        secret = None if public else TEST_RP_SECRET
        register_client(
            ClientRegistration(
                client_id=client_id,
                name=f"Test RP {client_id}",
                redirect_uris=[redirect_uri],
                post_logout_redirect_uris=[post_logout_redirect_uri],
                client_secret=secret,
                public=public,
                trusted=trusted,
                auth_method=auth_method,
            )
        )
        return Client(client_id, secret, redirect_uri, post_logout_redirect_uri)

    return make


@pytest.fixture
def rp(make_client) -> Client:
    return make_client()


@pytest.fixture
def bridge_url(live_server, settings) -> str:
    """A live bridge on a real port, its issuer set to where it really answers."""
    url = live_server.url
    settings.BRIDGE_ISSUER = url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": url}
    return url
