"""Fixed-duration load with wrk (C, epoll; the scenario logic in bench.lua)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sbs import profile
from sbs.system import CpuMeter, wait_idle, wait_quiet

LUA = Path(__file__).with_name("bench.lua")


@dataclass
class Measurement:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float]
    detail: dict[str, object]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "cpu": self.cpu,
            **self.detail,
        }


def wrk_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_wrk(
    base_url: str,
    mode: str,
    path: str,
    concurrency: int,
    seconds: float,
    server_pids: list[int],
    *,
    auth: str = "-",
    token_file: Path | None = None,
    profile_to: Path | None = None,
    master_pid: int | None = None,
) -> Measurement:
    threads = min(wrk_threads(), concurrency)
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(concurrency),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base_url + path,
        "--",
        mode,
        path,
        auth,
        str(token_file) if token_file else "-",
        str(threads),
    ]
    wait_quiet()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter = CpuMeter(server_pids)
    spy = profile.start(master_pid, seconds, profile_to) if profile_to and master_pid else None
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if spy is not None:
        spy.wait(timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    generator_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = meter.stop(generator_cpu)
    wait_idle(server_pids)
    detail: dict[str, object] = {}
    if spy is not None and profile_to is not None:
        detail["profile"] = profile.summarise(profile_to) | {"collapsed_stacks": str(profile_to)}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    data = json.loads(lines[-1])
    errors = sum(data["errors"].values())
    return Measurement(
        requests=data["requests"] - data["errors"]["status"],  # answered, and answered 2xx/3xx
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        cpu=cpu,
        detail=detail
        | (
            {
                "error_kinds": {k: v for k, v in data["errors"].items() if v},
                "first_error": data.get("first_error", ""),
                "pool_exhausted": data.get("pool_exhausted", 0),
            }
            if errors
            else {}
        ),
    )
