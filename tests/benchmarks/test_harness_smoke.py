"""The side-by-side benchmark harness works: one --quick run against the bridge alone.

It checks that the harness starts the bridge as in production, drives every endpoint, prints its
table and saves its JSON; never the figures (those belong to docs/performance.md, not to CI). The
stock-DOT and oidc-provider peers are left out: with them the quickest run takes minutes (stock
DOT's PBKDF2 client secrets need seconds per request), without them about 40 s, which is why the
test is marked ``benchmark_smoke`` (deselect with ``-m "not benchmark_smoke"``). It needs wrk and
the PostgreSQL server, and runs once, in the SQLite pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres_available import available, postgres_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.postgres]
ONCE = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgres",
    reason="runs in the SQLite pass (the same test; once is enough)",
)


def run_benchmark(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``benchmarks/<script>`` as a person runs it, on the test PostgreSQL server; must succeed."""
    if not available():
        pytest.skip("PostgreSQL is not reachable (the benchmarks put their databases on it)")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGE_", "LEGACY_", "DJANGO_", "DATABASE_"))
    }
    env["BENCH_POSTGRES_URL"] = postgres_url()
    result = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
@ONCE
def test_quick_run_against_the_bridge_prints_a_table_and_saves_json(tmp_path):
    out = tmp_path / "figures.json"
    result = run_benchmark(
        "side_by_side.py",
        "--quick",
        "--peers",
        "bridge",
        "--quiet-wait",
        "0",
        "--json",
        str(out),
        timeout=600,
    )

    table = result.stdout
    assert "endpoint" in table and "idp-bridge" in table and "vs ceil" in table
    for endpoint in ("discovery", "jwks", "userinfo", "introspection", "token", "login"):
        assert any(line.startswith(endpoint) for line in table.splitlines()), endpoint
    assert "static response" in table and "legacy hash verifications" in table
    assert "Targets" in table

    report = json.loads(out.read_text())
    assert {"machine", "settings", "ceilings", "targets", "rows", "targets_met"} <= set(report)
    results = report["targets"]["bridge"]["results"]
    for key in ("discovery@16", "jwks@16", "userinfo@16", "introspection@16", "token@16", "login@16"):
        cell = results[key]
        assert {"rps", "p50_ms", "p99_ms", "errors", "cpu"} <= set(cell), key
        assert cell["requests"] > 0 and cell["errors"] == 0, (key, cell)
    assert report["targets"]["static"]["results"]["discovery@16"]["rps"] > 0
    assert report["ceilings"]["hash"]["per_second"] > 0


@ONCE
def test_request_cost_walks_a_login_and_the_token_path_and_prints_cpu_per_step(tmp_path):
    out = tmp_path / "cost.json"
    result = run_benchmark("request_cost.py", "--rounds", "2", "--peers", "bridge", "--json", str(out))
    assert "a login costs" in result.stdout
    steps = json.loads(out.read_text())["peers"]["bridge"]
    assert set(steps) == {
        "authorize",
        "login form",
        "login POST",
        "authorize again",
        "code exchange",
        "userinfo",
        "introspection",
        "refresh",
        "discovery",
        "jwks",
    }
    assert all(step["server_ms"] > 0 for step in steps.values())


@ONCE
def test_durable_floor_measures_rotations_with_and_without_the_signature(tmp_path):
    out = tmp_path / "floor.json"
    run_benchmark("durable_floor.py", "--seconds", "0.5", "--concurrency", "4", "--json", str(out))
    report = json.loads(out.read_text())
    assert report["transactions_per_second"] > 0 and report["transactions_with_rs256_per_second"] > 0
