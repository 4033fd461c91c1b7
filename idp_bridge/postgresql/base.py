"""Django's PostgreSQL backend, with a pool check that costs a round trip only when it can matter.

Django checks every connection it takes from the pool (``CONN_HEALTH_CHECKS``) with an empty query:
one more round trip on every request, about a tenth of a userinfo or introspection answer on a
busy server (docs/performance.md). What the check catches is a connection whose server session
ended while it sat in the pool. Here a connection handed back less than
``POOL_CHECK_IDLE_SECONDS`` ago is used as it is, and every other one is checked as Django would.
The price, stated in docs/performance.md: sessions that end within that second of their last use
(``pg_terminate_backend``, a server crash and restart, a failover) each fail the one request that
takes them, answered with the outage page (503); the pool then drops the broken connection. A
connection that fails its check goes back to the pool, which discards it, and the next is taken.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Final

import psycopg
from django.db.backends.postgresql import base

POOL_CHECK_IDLE_SECONDS: Final = 1.0

_returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()
_returned_lock = threading.Lock()


def _idle_seconds(connection: psycopg.Connection[Any]) -> float:
    with _returned_lock:
        returned = _returned_at.get(connection)
    return float("inf") if returned is None else time.monotonic() - returned


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        if pool is None:
            return super().get_new_connection(conn_params)
        # Each failed check discards one broken connection, so after the pool's size of them the
        # next is one the pool has just opened; it is checked too, and its failure is the answer.
        for attempt in range(pool.max_size + 1):
            connection = super().get_new_connection(conn_params)
            if _idle_seconds(connection) < POOL_CHECK_IDLE_SECONDS:
                return connection
            try:
                pool.check_connection(connection)
            except psycopg.Error:
                connection._pool.putconn(connection)  # the pool drops a broken one
                if attempt == pool.max_size:
                    raise
                continue
            except BaseException:
                connection._pool.putconn(connection)
                raise
            return connection
        raise AssertionError("unreachable")

    def _close(self) -> None:
        if self.pool and self.connection is not None:
            with _returned_lock:
                _returned_at[self.connection] = time.monotonic()
        super()._close()  # type: ignore[misc]
