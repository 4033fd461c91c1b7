"""Can response time tell an unknown username from a wrong password? Measured over real HTTP.

    .venv/bin/python benchmarks/enumeration_timing.py [--rounds 60] [--json FILE]

Starts the bridge as in production (gunicorn, DEBUG off) on a loopback port over the demo portal
(bcrypt cost 10, Django PBKDF2 100,000 iterations, phpass 2^13, sha512-crypt 5000 rounds, and a
suspended bcrypt account), then posts the login form, in a shuffled order every round, for:

- baseline A and baseline B: the *same* request (a wrong password for the bcrypt user) twice, so
  the difference between their medians is the noise floor of this machine in this run;
- an unknown username; a wrong password for each other scheme; the suspended account with its
  right password.

Each case's median is compared with baseline A; the target is a difference under 5 ms, read
against the noise floor and each difference's 95% bootstrap interval (an interval that contains
0 is a difference chance alone explains). Brute-force throttling is switched off for the run (it would refuse
the repeated attempts, identically for every case, in about a millisecond). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 5.0

CASES: dict[str, tuple[str, str]] = {
    "baseline A: wrong password, bcrypt": ("alice", "not-the-password"),
    "baseline B: the same request again": ("alice", "not-the-password"),
    "unknown username": ("nobody-here", "not-the-password"),
    "wrong password, Django PBKDF2": ("bob", "not-the-password"),
    "wrong password, phpass": ("carol", "not-the-password"),
    "wrong password, sha512-crypt": ("dave", "not-the-password"),
    "suspended account, right password": ("frank", "frank-demo-6"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bridge_environment(state: Path, port: int) -> dict[str, str]:
    from accounts.legacy.demo import DEMO_MAPPING_PATH, create_demo_database

    create_demo_database(state / "portal.sqlite3")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGE_", "LEGACY_", "DJANGO_", "DATABASE_"))
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "idp_bridge.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "BRIDGE_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(48),
        "BRIDGE_ISSUER": f"http://127.0.0.1:{port}",
        "BRIDGE_USERNAME_DOMAIN": "demo.example.edu",
        "BRIDGE_STATE_DIR": str(state),
        "LEGACY_DATABASE_URL": f"sqlite:///{state / 'portal.sqlite3'}",
        "LEGACY_MAPPING": str(DEMO_MAPPING_PATH),
        "BRIDGE_LOGIN_THROTTLE": "false",
        "BRIDGE_LOG_LEVEL": "WARNING",
    }


def start_bridge(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        # One sync worker: requests are measured one at a time, as an attacker probing would send them.
        [
            python,
            "-m",
            "gunicorn",
            "idp_bridge.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    server.terminate()
    server.wait(timeout=30)
    raise SystemExit("the bridge did not start within 120 s")


class LoginForm:
    """A browser at the login page: one session, one CSRF token, one form post per attempt."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/login"
        self.http = requests.Session()
        page = self.http.get(self.url, timeout=10).text
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "no CSRF token on the login page"
        self.token = match.group(1)

    def attempt(self, login: str, password: str) -> float:
        data = {"csrfmiddlewaretoken": self.token, "login": login, "password": password}
        started = time.perf_counter()
        response = self.http.post(self.url, data=data, timeout=30, allow_redirects=False)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and "incorrect" in response.text, (login, response.status_code)
        return elapsed


def measure(form: LoginForm, rounds: int, warmup: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {label: [] for label in CASES}
    for number in range(warmup + rounds):
        order = list(CASES)
        random.shuffle(order)
        for label in order:
            seconds = form.attempt(*CASES[label])
            if number >= warmup:  # the bridge learns the portal's costliest verification first
                samples[label].append(seconds)
    return samples


def interval(values: list[float], baseline: list[float], draws: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval of median(values) - median(baseline): how far chance alone goes."""
    rng = random.Random(7)
    differences = sorted(
        statistics.median(rng.choices(values, k=len(values)))
        - statistics.median(rng.choices(baseline, k=len(baseline)))
        for _ in range(draws)
    )
    return differences[int(0.025 * draws)], differences[int(0.975 * draws) - 1]


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    reference = samples[next(iter(CASES))]
    baseline = statistics.median(reference)
    figures = {}
    for label, values in samples.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        low, high = interval(values, reference)
        figures[label] = {
            "median_ms": median * 1000,
            "p10_ms": ordered[len(ordered) // 10] * 1000,
            "p90_ms": ordered[(len(ordered) * 9) // 10] * 1000,
            "difference_ms": (median - baseline) * 1000,
            "interval_low_ms": low * 1000,
            "interval_high_ms": high * 1000,
        }
    return figures


def print_table(figures: dict[str, dict[str, float]], rounds: int) -> None:
    print(f"\nLogin form over HTTP, {rounds} attempts per case (medians; difference against baseline A)\n")
    print(f"{'case':38} {'median':>9} {'p10':>9} {'p90':>9} {'difference':>11}  {'95% interval':>19}")
    for label, row in figures.items():
        print(
            f"{label:38} {row['median_ms']:7.1f}ms {row['p10_ms']:7.1f}ms {row['p90_ms']:7.1f}ms "
            f"{row['difference_ms']:+9.2f}ms  [{row['interval_low_ms']:+7.2f}, {row['interval_high_ms']:+7.2f}]"
        )
    noise = abs(figures["baseline B: the same request again"]["difference_ms"])
    worst = max(
        abs(row["difference_ms"]) for label, row in figures.items() if not label.startswith("baseline")
    )
    verdict = "met" if worst < TARGET_MS else "NOT met"
    spread = figures["baseline B: the same request again"]
    print(
        f"\nNoise floor (identical requests): {noise:.2f} ms; chance alone moves a median difference "
        f"within [{spread['interval_low_ms']:+.2f}, {spread['interval_high_ms']:+.2f}] ms. "
        f"Largest difference: {worst:.2f} ms."
    )
    print(f"Target (every difference under {TARGET_MS:g} ms): {verdict}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured attempts per case")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured rounds first")
    parser.add_argument("--json", type=Path, help="also save the figures here")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="enumeration-timing-") as state:
        env = bridge_environment(Path(state), port)
        server = start_bridge(env, port)
        try:
            samples = measure(LoginForm(f"http://127.0.0.1:{port}"), args.rounds, args.warmup)
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures = summarise(samples)
    print_table(figures, args.rounds)
    if args.json:
        args.json.write_text(json.dumps({"rounds": args.rounds, "cases": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
