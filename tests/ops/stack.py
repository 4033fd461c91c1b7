"""Run the real ``bin/entrypoint`` on loopback, as an operator would, and stop it afterwards.

Every process is started in a session of its own and stopped by its id (SIGTERM, then SIGKILL of
its own process group if it has not ended in time), so a failing test leaves nothing running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from accounts.legacy.demo import DEMO_MAPPING_PATH

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90  # migrations on an empty database included
_OWN_PREFIXES = ("BRIDGE_", "LEGACY_", "DJANGO_", "DATABASE_", "GUNICORN_", "PROMETHEUS_", "BIND", "NGINX")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None and os.environ.get("CI"):
        pytest.fail("nginx is not installed: .ci/run installs it (apt-get install nginx-light)")
    return found


def bridge_environment(state: Path, **settings: str) -> dict[str, str]:
    """A production-like environment for one instance: the test run's own settings left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.pop("TEST_DATABASE", None)
    env |= {
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "idp_bridge.settings",
        "DJANGO_SECRET_KEY": "ops-test-" + secrets.token_urlsafe(40),
        "BRIDGE_USERNAME_DOMAIN": "portal.example.edu",
        "BRIDGE_KEY_ENCRYPTION_SECRET": "ops-test-key-encryption-" + secrets.token_urlsafe(24),
        "LEGACY_MAPPING": str(DEMO_MAPPING_PATH),
        "BRIDGE_STATE_DIR": str(state),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "BRIDGE_PROXY_WORKERS": "1",
        "BRIDGE_LOG_FORMAT": "json",
    }
    return env | settings


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``bin/entrypoint manage ARGS`` with ``env``, as cron or a systemd timer would run it."""
    return subprocess.run(
        ["bin/entrypoint", "manage", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Instance:
    """One running ``bin/entrypoint``."""

    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]
    ports: list[int] = field(default_factory=list)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def manage(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """A management command against this instance's databases, as cron would run it."""
        return manage(self.env | env, *args, stdin=stdin)

    def wait_until_serving(self, url: str, verify: str | bool = True) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode} while starting:\n{self.log[-6000:]}"
                )
            try:
                if requests.get(url, timeout=2, verify=verify).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise AssertionError(f"{self.name} did not answer {url} in {START_TIMEOUT} s:\n{self.log[-6000:]}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd or docker would; the exit status (SIGKILL of its group if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
                raise AssertionError(
                    f"{self.name} ignored SIGTERM for {timeout} s:\n{self.log[-4000:]}"
                ) from None
        return self.process.returncode


@contextmanager
def running(name: str, env: dict[str, str], log_dir: Path) -> Iterator[Instance]:
    """Start ``bin/entrypoint`` with ``env``; stop it (and anything it left) when the block ends."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bin/entrypoint"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance = Instance(name, env, log_path, process)
    try:
        yield instance
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        # The entrypoint's children are in its process group: none may outlive the test.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def throwaway_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the bridge; dropped afterwards."""
    import psycopg

    from tests.postgres_available import available, postgres_url

    if not available():
        pytest.skip("PostgreSQL does not answer at TEST_POSTGRES_URL / 127.0.0.1:5432")
    name = f"idp_bridge_ops_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_url().rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
