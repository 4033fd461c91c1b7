"""The PostgreSQL backend's pool check: a round trip only for a connection that sat idle.

Runs on the PostgreSQL pass (the SQLite pass has no pool). Each test ends a pooled connection's
server session behind the pool's back, as a database restart or an administrator would.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection, connections

from idp_bridge.postgresql import base as backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite pass has no connection pool")
    assert isinstance(connections["default"], backend.DatabaseWrapper)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def end_every_session() -> None:
    """pg_terminate_backend, from a connection of its own outside Django and its pool, for every
    other session on the test database: every pooled connection breaks."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def requests(count: int) -> list[int | None]:
    """``count`` requests in turn, each taking a pooled connection and handing it back; the server
    process that answered each, or None where the request failed."""
    pids: list[int | None] = []
    for _ in range(count):
        try:
            pids.append(backend_pid())
        except OperationalError:
            pids.append(None)
        connection.close()  # as Django does at the end of a request: back to the pool
    return pids


def pool_rounds() -> int:
    return int(connection.pool.max_size) + 2


def test_connections_broken_while_idle_are_replaced_before_a_request_sees_them(monkeypatch):
    monkeypatch.setattr(backend, "POOL_CHECK_IDLE_SECONDS", 0.0)  # as if each had sat idle
    before = set(requests(pool_rounds()))
    end_every_session()
    after = requests(pool_rounds())
    assert None not in after  # every broken one failed its check and was replaced
    assert not before & set(after)


def test_a_connection_just_handed_back_is_used_without_a_round_trip(monkeypatch):
    monkeypatch.setattr(backend, "POOL_CHECK_IDLE_SECONDS", 3600.0)
    checked: list[object] = []
    monkeypatch.setattr(connection.pool, "check_connection", lambda conn: checked.append(conn))
    requests(pool_rounds())  # every pooled connection handed back once
    checked.clear()
    requests(pool_rounds())
    assert checked == []
    monkeypatch.setattr(backend, "POOL_CHECK_IDLE_SECONDS", 0.0)
    requests(3)
    assert len(checked) == 3


def test_the_trade_off_a_session_ended_within_the_idle_bound_costs_one_request_per_connection(monkeypatch):
    """What the bound means: a pooled connection whose session ends less than
    POOL_CHECK_IDLE_SECONDS after its last use fails the one request that takes it, and the pool
    drops it for the next."""
    monkeypatch.setattr(backend, "POOL_CHECK_IDLE_SECONDS", 3600.0)
    pooled = len(set(requests(pool_rounds())))
    end_every_session()
    after = requests(pooled + 2)
    failures = after.count(None)
    assert 1 <= failures <= pooled
    assert after[:failures] == [None] * failures and None not in after[failures:]  # then all succeed


def test_prepared_statements_are_used_on_the_pooled_connections():
    connection.close()
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = %s", ["oidc"])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] >= 1
