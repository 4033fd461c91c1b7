"""Concurrent uses of one code or one refresh token: one may win, none may crash.

Runs in the PostgreSQL pass of `make test` (TEST_DATABASE=postgres): SQLite's shared-cache test
database cannot hold the row locks this is about.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.e2e.support import RP, Browser, User

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
PARALLEL = 8


@pytest.fixture(autouse=True)
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL bridge database (the TEST_DATABASE=postgres pass)")


def race(send) -> list[int]:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(PARALLEL) as pool:
        return [response.status_code for response in pool.map(lambda _i: send(), range(PARALLEL))]


def test_parallel_refreshes_of_one_token_never_500(browser: Browser, relying_party: RP, alice: User) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials)
    statuses = race(
        lambda: relying_party.post_token(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        )
    )
    assert all(status in (200, 400) for status in statuses), statuses
    assert statuses.count(200) <= 1


def test_parallel_exchanges_of_one_code_never_500(browser: Browser, relying_party: RP, alice: User) -> None:
    request = relying_party.auth_request("openid")
    callback = browser.authorize(request.url, user=alice.credentials)
    code = relying_party.check_callback(callback, request)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": relying_party.client.redirect_uri,
        "code_verifier": request.code_verifier,
    }
    statuses = race(lambda: relying_party.post_token(data))
    assert all(status in (200, 400) for status in statuses), statuses
    assert statuses.count(200) == 1
