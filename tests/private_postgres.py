"""A private PostgreSQL 15 cluster that a test may stop, freeze and restart.

The shared server on 5432 is never touched: this one is initdb'd in a temporary directory (as the
``postgres`` user, through runuser) and listens on a free loopback port. ``stop()`` is
``pg_ctl stop -m immediate`` (the server is gone: connections refused), ``freeze()`` SIGSTOPs the
postmaster and every backend (the server hangs: the kernel still accepts connections and
acknowledges packets, nothing answers), ``thaw()`` and ``start()`` undo them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.frozen: list[int] = []

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        )
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _processes(self) -> list[int]:
        """The postmaster and its children (backends, background workers)."""
        postmaster = self.postmaster_pid()
        found = [postmaster]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                found.append(int(entry))
        return found

    def freeze(self) -> None:
        self.frozen = self._processes()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.frozen:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip(f"PostgreSQL 15 server binaries are not installed at {PG_BIN}")
    if os.geteuid() != 0:
        pytest.skip("starting a private PostgreSQL cluster needs root (to run initdb as postgres)")
    root = Path(tempfile.mkdtemp(prefix="idp-bridge-private-pg-"))
    shutil.chown(root, "postgres")
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.thaw()
        with suppress(subprocess.SubprocessError, OSError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
