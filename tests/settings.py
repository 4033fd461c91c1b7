"""Test settings: the production settings module with a test environment around it.

Tests run on SQLite by default; with TEST_DATABASE=postgres the bridge database is real
PostgreSQL (see tests/conftest.py and `make test`).
"""

import os
import tempfile
from pathlib import Path

_state = Path(tempfile.mkdtemp(prefix="idp-bridge-test-"))
os.environ.update(
    {
        "DJANGO_SECRET_KEY": "test-secret-key-not-for-production-" + "x" * 20,
        "BRIDGE_ISSUER": "http://127.0.0.1:8000",
        "BRIDGE_USERNAME_DOMAIN": "portal.example.edu",
        "BRIDGE_KEY_ENCRYPTION_SECRET": "test-key-encryption-secret-0123456789abcdef",
        "BRIDGE_STATE_DIR": str(_state),
        "LEGACY_DATABASE_URL": f"sqlite:///{_state / 'legacy.sqlite3'}",
        "LEGACY_MAPPING": str(Path(__file__).parent / "fixtures" / "portal_mapping.toml"),
        "BRIDGE_LOG_LEVEL": "WARNING",
    }
)
if os.environ.get("TEST_DATABASE") == "postgres":
    os.environ["DATABASE_URL"] = os.environ.get(
        "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )

from idp_bridge.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "oidc.hashers.ClientSecretHasher"]

if DATABASES["default"]["ENGINE"] in ("django.db.backends.postgresql", "idp_bridge.postgresql"):  # noqa: F405
    # One test database per run: concurrent runs on one server (two terminals, CI and a developer)
    # must not drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_idp_bridge_{os.getpid()}"}  # noqa: F405
