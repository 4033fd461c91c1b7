"""Exit 0 if the test PostgreSQL server answers, 1 otherwise (used by `make test` and fixtures)."""

import os
import sys


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def available(timeout: int = 3) -> bool:
    import psycopg

    try:
        with psycopg.connect(postgres_url(), connect_timeout=timeout):
            return True
    except psycopg.OperationalError:
        return False


if __name__ == "__main__":
    sys.exit(0 if available() else 1)
