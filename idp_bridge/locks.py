"""A lock shared by every bridge instance on one database, for jobs that must not run twice at once.

On PostgreSQL it is a session-level advisory lock (``pg_advisory_lock``), released when the block
ends or the connection drops. SQLite serves a single host, whose own write lock serialises writers:
there the block simply runs.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def database_lock(
    name: str, *, using: str = "default", on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock called ``name`` for the block; call ``on_wait`` once if another holder has it."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    key = _key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        row = cursor.fetchone()
        if not (row and row[0]):
            if on_wait is not None:
                on_wait()
            while True:
                time.sleep(0.5)
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                row = cursor.fetchone()
                if row and row[0]:
                    break
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
