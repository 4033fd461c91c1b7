"""Fixtures for the end-to-end suite: a live bridge, browsers, legacy users and relying parties."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.conftest import Client
from tests.e2e.support import HTTP_TIMEOUT, PASSWORD, RP, Bridge, Browser, User


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _authlib_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The live server speaks plain HTTP on localhost; Authlib refuses that unless told otherwise.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def bridge(bridge_url: str) -> Bridge:
    response = requests.get(f"{bridge_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return Bridge(bridge_url, response.json())


@pytest.fixture
def browser(bridge_url: str) -> Iterator[Browser]:
    b = Browser(bridge_url)
    yield b
    b.http.close()


@pytest.fixture
def new_browser(bridge_url: str) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(bridge_url))
        return made[-1]

    yield make
    for b in made:
        b.http.close()


@pytest.fixture
def add_user(portal: Any) -> Callable[..., User]:
    def add(login: str, password: str = PASSWORD, **kwargs: Any) -> User:
        return User(login, password, portal.add_user(login, password, **kwargs))

    return add


@pytest.fixture
def alice(add_user: Callable[..., User]) -> User:
    return add_user(
        "Alice.Smith",
        email="alice@example.org",
        first_name="Alice",
        last_name="Smith",
        institution="Example University",
    )


@pytest.fixture
def bob(add_user: Callable[..., User]) -> User:
    return add_user("bob", "bob's own password", email="bob@example.org", first_name="Bob", last_name="Jones")


@pytest.fixture
def make_rp(make_client: Callable[..., Client], bridge: Bridge) -> Callable[..., RP]:
    def make(client_id: str = "test-rp", **kwargs: Any) -> RP:
        client = make_client(client_id, **kwargs)
        return RP(client, bridge, kwargs.get("auth_method", "client_secret_basic"))

    return make


@pytest.fixture
def relying_party(make_rp: Callable[..., RP]) -> RP:
    """A confidential client using client_secret_basic, as Globus Auth does."""
    return make_rp()
