"""Django's PostgreSQL backend, with a pool check that costs a round trip only when it can matter.

Django checks every connection it takes from the pool (``CONN_HEALTH_CHECKS``) with an empty query:
one more round trip on every request, about a tenth of a userinfo or introspection answer on a
busy server (docs/performance.md). What the check catches is a connection that broke while it
sat in the pool: the database restarted, an administrator ended the session, a firewall dropped
an idle connection. A connection handed back less than ``POOL_CHECK_IDLE_SECONDS`` ago was
working then, and none of those happens between one request and the next without taking longer
than that (a restart stops and starts the server; the others wait for idleness), so such a
connection is used as it is and every other one is checked as Django would. A connection that
fails its check goes back to the pool, which discards a broken one, and the next is taken.
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
        # Each failed check discards a broken connection: at most the pool's size of them.
        for _ in range(pool.max_size):
            connection = super().get_new_connection(conn_params)
            if _idle_seconds(connection) < POOL_CHECK_IDLE_SECONDS:
                return connection
            try:
                pool.check_connection(connection)
            except psycopg.Error:
                connection._pool.putconn(connection)  # the pool drops it and opens another
                continue
            return connection
        return super().get_new_connection(conn_params)

    def _close(self) -> None:
        if self.pool and self.connection is not None:
            with _returned_lock:
                _returned_at[self.connection] = time.monotonic()
        super()._close()  # type: ignore[misc]
