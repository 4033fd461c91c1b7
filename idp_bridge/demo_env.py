"""Write the environment file for demo mode once, with fresh random secrets.

`make run` sources it. Running again keeps the file, so the demo's keys, sessions and client
secret survive restarts. Usage: python -m idp_bridge.demo_env var/demo.env PORT
"""

from __future__ import annotations

import secrets
import shlex
import sys
from pathlib import Path

from accounts.legacy.demo import DEMO_MAPPING_PATH


def main(path: Path, port: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = path.parent.resolve()
    values = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "BRIDGE_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(48),
    }
    if path.exists():  # keep the secrets, refresh what depends on the port
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key in values:
                values[key] = shlex.split(value)[0]
    values |= {
        "BRIDGE_DEMO": "true",
        "BRIDGE_ISSUER": f"http://127.0.0.1:{port}",
        "BRIDGE_USERNAME_DOMAIN": "demo.example.edu",
        "BRIDGE_INSTITUTION_NAME": "Demo Research Portal",
        "BRIDGE_STATE_DIR": str(state),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1 localhost",
        "LEGACY_DATABASE_URL": f"sqlite:///{state / 'demo-portal.sqlite3'}",
        "LEGACY_MAPPING": str(DEMO_MAPPING_PATH),
    }
    path.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items()))
    path.chmod(0o600)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "8000")
