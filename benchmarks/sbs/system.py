"""Processes, CPU accounting, the machine's description and PostgreSQL databases."""

from __future__ import annotations

import os
import platform
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- processes -------------------------------------------------------------------------------------
# --nice: the scheduling priority of the harness and of every server it starts. Linux schedules
# each session as one group (autogroup) before it looks at a process's nice value, and every server
# runs in a session of its own, so the priority is set on the session's group.
NICE = {"value": 0}


def set_autogroup_nice(pid: int | str = "self") -> None:
    if not NICE["value"]:
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(NICE["value"]))
    except OSError as error:  # no autogroups (kernel setting), or not root for a negative value
        print(f"--nice {NICE['value']} not applied to {pid}: {error}", flush=True)


@dataclass
class Service:
    """A server started by the harness, in its own session so that it and its workers stop together."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        set_autogroup_nice(self.proc.pid)

    def pids(self) -> list[int]:
        """The server and every process it started (same session id)."""
        if self.proc is None:
            return []
        sid = self.proc.pid
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == sid:  # field 6 of stat: session id
                    found.append(int(entry))
        return found

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited during start-up; see {self.log}:\n{tail(self.log)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout} s; see {self.log}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def process_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


_POSTMASTER: dict[str, int] = {}


def _ppid(pid: int | str) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def postmaster_pid() -> int | None:
    """The postmaster of the server at PG (parent of a backend), if it runs on this machine."""
    if "pid" not in _POSTMASTER:
        try:
            _POSTMASTER["pid"] = _ppid(int(psql("SELECT pg_backend_pid()")))
        except (OSError, ValueError, IndexError):
            _POSTMASTER["pid"] = 0
    return _POSTMASTER["pid"] or None


def postgres_pids() -> list[int]:
    """The PostgreSQL server the harness uses: its postmaster and every process it started (not
    another cluster on the same machine)."""
    postmaster = postmaster_pid()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() not in ("postgres", "postmaster"):
                    continue
                if postmaster is None or int(entry) == postmaster or _ppid(entry) == postmaster:
                    pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


class CpuMeter:
    """CPU seconds used by the server under test, PostgreSQL and the machine during one run.

    Processes that start during the run (a PostgreSQL backend for a new connection) count whole.
    """

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.started = time.monotonic()
        self.server_start = self._per_pid(server_pids)
        self.pg_start = self._per_pid(postgres_pids())
        self.busy_start = machine_busy_seconds()

    @staticmethod
    def _per_pid(pids: list[int]) -> dict[int, float]:
        return {pid: process_cpu_seconds([pid]) for pid in pids}

    @staticmethod
    def _used(start: dict[int, float], now: dict[int, float]) -> float:
        return sum(max(0.0, cpu - start.get(pid, 0.0)) for pid, cpu in now.items())

    def stop(self, generator_cpu: float) -> dict[str, float]:
        wall = time.monotonic() - self.started
        server = self._used(self.server_start, self._per_pid(self.server_pids)) / wall
        postgres = self._used(self.pg_start, self._per_pid(postgres_pids())) / wall
        busy_now = machine_busy_seconds()
        cores = os.cpu_count() or 1
        busy = (busy_now[0] - self.busy_start[0]) / max(busy_now[1] - self.busy_start[1], 1e-9)
        generator = generator_cpu / wall
        return {
            "server_cores": round(server, 2),
            "postgres_cores": round(postgres, 2),
            "generator_cores": round(generator, 2),
            # Everything else on the machine: a figure taken while this is above ~0.15 is disturbed.
            "other_cores": round(max(0.0, busy * cores - server - postgres - generator), 2),
            "machine_busy": round(busy, 2),
        }


def background_cores(seconds: float = 1.0) -> float:
    """Cores busy on the machine while the harness itself does nothing."""
    busy0, total0 = machine_busy_seconds()
    time.sleep(seconds)
    busy1, total1 = machine_busy_seconds()
    return (busy1 - busy0) / max(total1 - total0, 1e-9) * (os.cpu_count() or 1)


# How long a measurement waits for other work on the machine to stop (--quiet-wait; 0: never).
QUIET_WAIT = {"seconds": 120.0}


def wait_quiet(limit: float = 0.15) -> float:
    """Wait (up to QUIET_WAIT) until other work on the machine uses less than ``limit`` cores."""
    if QUIET_WAIT["seconds"] <= 0:
        return 0.0
    deadline = time.monotonic() + QUIET_WAIT["seconds"]
    busy = background_cores(0.5)
    while busy > limit and time.monotonic() < deadline:
        busy = background_cores(1.0)
    return busy


def wait_idle(pids: list[int], timeout: float = 60, threshold: float = 0.05) -> None:
    """Wait until the server has finished requests a load generator left behind (< 5% of a core)."""
    deadline = time.monotonic() + timeout
    previous = process_cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = process_cpu_seconds(pids)
        if now - previous < threshold * 0.3:
            return
        previous = now


def describe_machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    pg_version = psql("SHOW server_version").strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "node": node,
        "wrk": wrk,
    }


# --- PostgreSQL ------------------------------------------------------------------------------------
def psql(sql: str, url: str = PG) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)  # type: ignore[arg-type]
        rows = cursor.fetchall() if cursor.description else []
    return "\n".join(str(r[0]) for r in rows)


def create_database(prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {name}")
    return PG.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    psql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def seed_legacy_portal(url: str, users: int, stored_hash: str) -> None:
    """users user1..userN in one indexed table, all with the same stored hash (generate_series)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE portal_users (uid SERIAL PRIMARY KEY, login TEXT NOT NULL, pass_hash TEXT,"
            " email TEXT, first_name TEXT, last_name TEXT, institution TEXT, status INTEGER)"
        )
        db.execute(
            "INSERT INTO portal_users (login, pass_hash, email, first_name, last_name, institution, status)"
            " SELECT 'user' || i, %s, 'user' || i || '@example.org', 'Given', 'Family', 'Example U', 1"
            " FROM generate_series(1, %s) AS i",
            (stored_hash, users),
        )
        db.execute("CREATE INDEX portal_users_login ON portal_users (login)")
        db.execute("ANALYZE portal_users")
