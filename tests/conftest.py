"""Shared fixtures: a legacy portal database, registered clients, a live bridge over real HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

from accounts.legacy import reset_user_source
from accounts.legacy.demo import PORTAL_USERS_DDL
from tests.factories.hashes import make_hash

if TYPE_CHECKING:
    from tests.globus_standin import GlobusAuthStandIn

TEST_RP_SECRET = "test-rp-secret-" + "s" * 40


@dataclass
class Portal:
    """The legacy portal's user table (SQLite file or PostgreSQL database); tests add the rows they need."""

    url: str

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> int:
        """Run one statement written with %s placeholders; returns the new row's uid for inserts."""
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as db:
                cursor = db.execute(sql.replace("%s", "?"), params)
                return int(cursor.lastrowid or 0)
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            cursor = db.execute(sql + (" RETURNING uid" if sql.startswith("INSERT") else ""), params)
            return int(cursor.fetchone()[0]) if sql.startswith("INSERT") else 0

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
        columns = "login, pass_hash, email, first_name, last_name, institution, status"
        values: tuple[object, ...] = (
            login,
            stored,
            email if email is not None else f"{login}@example.org",
            first_name,
            last_name,
            institution,
            status,
        )
        if uid is not None:
            columns, values = "uid, " + columns, (uid, *values)
        placeholders = ", ".join(["%s"] * len(values))
        return self.execute(f"INSERT INTO portal_users ({columns}) VALUES ({placeholders})", values)

    def update(self, uid: int, **values: object) -> None:
        assignments = ", ".join(f"{column} = %s" for column in values)
        self.execute(f"UPDATE portal_users SET {assignments} WHERE uid = %s", (*values.values(), uid))

    def delete(self, uid: int) -> None:
        self.execute("DELETE FROM portal_users WHERE uid = %s", (uid,))


@pytest.fixture(autouse=True)
def _no_account_state_from_other_tests() -> None:
    """accounts.state keeps "usable" answers per process, and the shared cache they copy rolls
    back with each test's database: no test sees another's (ids are reused after a rollback)."""
    from accounts.state import forget_local_copies

    forget_local_copies()


@pytest.fixture
def portal() -> Iterator[Portal]:
    """The legacy portal on SQLite, at the path the test settings point LEGACY_DATABASE_URL to."""
    path = Path(settings.LEGACY_DATABASE_URL.removeprefix("sqlite:///"))
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(PORTAL_USERS_DDL)
    reset_user_source()
    yield Portal(settings.LEGACY_DATABASE_URL)
    reset_user_source()


@pytest.fixture
def postgres_portal(settings) -> Iterator[Portal]:
    """The legacy portal on a throwaway PostgreSQL database (skipped with a reason if none answers)."""
    import secrets

    import psycopg

    from tests.postgres_available import available, postgres_url

    if not available():
        pytest.skip("PostgreSQL does not answer at TEST_POSTGRES_URL / 127.0.0.1:5432")
    name = f"legacy_portal_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres_url().rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(PORTAL_USERS_DDL.replace("uid INTEGER PRIMARY KEY", "uid SERIAL PRIMARY KEY"))
    settings.LEGACY_DATABASE_URL = url
    reset_user_source()
    yield Portal(url)
    reset_user_source()
    with psycopg.connect(postgres_url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_portal(request) -> Portal:
    """The same legacy portal on each database the bridge supports."""
    return request.getfixturevalue("portal" if request.param == "sqlite" else "postgres_portal")


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


# --- Globus Auth --------------------------------------------------------------------------------
GLOBUS_CALLBACK_PATH = "/account/globus/callback"


@pytest.fixture
def globus_auth(settings, monkeypatch) -> Iterator[GlobusAuthStandIn]:
    """A local Globus Auth on a real port; globus-sdk reaches it through GLOBUS_SDK_SERVICE_URL_AUTH.

    The bridge is registered with it as a confidential client, and this IdP is known to it as an
    identity provider (``BRIDGE_IDP``) for BRIDGE_USERNAME_DOMAIN. Use ``globus_chain`` to make the
    stand-in federate a live bridge as its upstream IdP.
    """
    from tests.globus_standin import BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, BRIDGE_IDP, GlobusAuthStandIn

    standin = GlobusAuthStandIn()
    url = standin.start()
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", url + "/")
    settings.BRIDGE_GLOBUS_CLIENT_ID = BRIDGE_CLIENT_ID
    settings.BRIDGE_GLOBUS_CLIENT_SECRET = BRIDGE_CLIENT_SECRET
    settings.BRIDGE_GLOBUS_IDP_ID = BRIDGE_IDP
    settings.BRIDGE_GLOBUS_IDP_DOMAINS = [settings.BRIDGE_USERNAME_DOMAIN]
    standin.add_provider(BRIDGE_IDP, "Example Research Portal", "bridge", [settings.BRIDGE_USERNAME_DOMAIN])
    standin.add_client(
        BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, [settings.BRIDGE_ISSUER + GLOBUS_CALLBACK_PATH]
    )
    yield standin
    standin.stop()


@pytest.fixture
def globus_chain(globus_auth, bridge_url, make_client, settings) -> GlobusAuthStandIn:
    """The stand-in federates the live bridge as its upstream IdP, exactly as Globus would: it is a
    confidential client of the bridge whose redirect URI is Globus's callback path on its own host."""
    from tests.globus_standin import BRIDGE_IDP, CALLBACK_PATH, UPSTREAM_CLIENT_ID

    client = make_client(UPSTREAM_CLIENT_ID, trusted=True, redirect_uri=globus_auth.url + CALLBACK_PATH)
    globus_auth.federate(bridge_url, BRIDGE_IDP, [settings.BRIDGE_USERNAME_DOMAIN])
    globus_auth.upstream.client_secret = client.client_secret  # type: ignore[union-attr]
    globus_auth.clients[settings.BRIDGE_GLOBUS_CLIENT_ID].redirect_uris.append(
        bridge_url + GLOBUS_CALLBACK_PATH
    )
    return globus_auth
