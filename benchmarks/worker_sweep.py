"""Which gunicorn worker configuration serves the bridge best on this machine.

    .venv/bin/python benchmarks/worker_sweep.py [--configs gthread:2x4,gthread:4x2,sync:4] [--duration 3]

Runs benchmarks/side_by_side.py against the bridge alone once per configuration (no peers, no
scale run) and prints requests/s per endpoint side by side, with the best configuration per row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = "gthread:2x4,gthread:2x8,gthread:4x2,gthread:4x4,sync:4,sync:8"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", default=DEFAULT, help="kind:WORKERSxTHREADS or sync:WORKERS, comma-separated"
    )
    parser.add_argument("--duration", default="3")
    parser.add_argument("--login-duration", default="6")
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for config in args.configs.split(","):
        kind, _, shape = config.partition(":")
        workers, _, threads = shape.partition("x")
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        cmd = [
            sys.executable,
            str(HERE / "side_by_side.py"),
            "--peers",
            "bridge",
            "--scale-users",
            "0",
            "--worker-class",
            kind,
            "--workers",
            workers,
            "--threads",
            threads or "1",
            "--duration",
            args.duration,
            "--login-duration",
            args.login_duration,
            "--concurrency",
            args.concurrency,
            "--json",
            str(out),
        ]
        print(f"== {config}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        report = json.loads(out.read_text())
        results[config] = {key: cell["rps"] for key, cell in report["targets"]["bridge"]["results"].items()}
        out.unlink()
    keys = list(next(iter(results.values())))
    print(f"{'endpoint':<18}" + "".join(f"{c:>14}" for c in results) + "   best")
    for key in keys:
        values = {c: results[c].get(key, 0.0) for c in results}
        best = max(values, key=lambda c: values[c])
        print(f"{key:<18}" + "".join(f"{values[c]:>14.1f}" for c in results) + f"   {best}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
