"""The enumeration-timing benchmark works: a two-round run prints its table and saves its JSON.

Never the figures (they depend on the machine; docs/security.md has a real run's): that the
harness starts the bridge as in production, logs in over HTTP for every case and reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.benchmark_smoke


@pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgres", reason="runs in the SQLite pass (once is enough)"
)
def test_a_short_run_prints_every_case_and_saves_json(tmp_path):
    out = tmp_path / "timing.json"
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/enumeration_timing.py",
            "--rounds",
            "2",
            "--warmup",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Noise floor (identical requests)" in result.stdout and "Target (every difference" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["rounds"] == 2
    assert {"unknown username", "suspended account, right password"} <= set(figures["cases"])
