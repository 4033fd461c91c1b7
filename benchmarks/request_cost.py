"""CPU per request, step by step: where a login and each token-path request spend the server's time.

    .venv/bin/python benchmarks/request_cost.py [--rounds 60] [--peers bridge,dot] [--json FILE]

Throughput on a shared 2-core machine mixes the server, PostgreSQL and the load generator; this
measures one request at a time instead. Each Python server runs as in side_by_side.py but with one
gunicorn worker and one thread, and one client walks the flows sequentially: an interactive login
(authorize, login form, login POST, authorize again, code exchange), then userinfo, introspection,
a refresh, and discovery and JWKS without the browser's cookies, as a relying party asks. Around
every request it reads the CPU time of the worker's threads and of the database server's processes
(``/proc/<pid>/task/*/schedstat``: nanoseconds, not ticks), so each step's figure is the CPU it cost
the server and the database, with nothing else counted.
It prints the median per step and, for the login, the bridge's own cost beside the legacy hash
verification (the same verifier, timed in this process). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sbs import flows, targets  # noqa: E402
from sbs.browser import Browser, basic_auth, first_form, pkce_pair  # noqa: E402
from sbs.system import postgres_pids  # noqa: E402

STEPS = (
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
)


def cpu_ns(pids: list[int]) -> int:
    """CPU time of every thread of ``pids`` so far, in nanoseconds."""
    total = 0
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
    return total


class Meter:
    def __init__(self, target: targets.Target) -> None:
        self.target = target
        self.samples: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def pids(self) -> tuple[list[int], list[int]]:
        return self.target.pids(), postgres_pids()

    def step(self, name: str, call: Callable[[], object]) -> object:
        server, database = self.pids()
        before = cpu_ns(server), cpu_ns(database)
        result = call()
        server, database = self.pids()
        after = cpu_ns(server), cpu_ns(database)
        self.samples[name].append(((after[0] - before[0]) / 1e6, (after[1] - before[1]) / 1e6))
        return result


def one_round(target: targets.Target, meter: Meter, user: str) -> None:
    browser = Browser(target.base_url)
    try:
        verifier, challenge = pkce_pair()
        response = meter.step(
            "authorize", lambda: browser.request("GET", flows.authorize_url(target, challenge))
        )
        assert response.status in (302, 303), response.status  # type: ignore[attr-defined]
        login_url = response.location  # type: ignore[attr-defined]
        page = meter.step("login form", lambda: browser.request("GET", login_url))
        action, fields = first_form(page.body)  # type: ignore[attr-defined]
        fields[target.login_field] = user
        fields["password"] = flows.PASSWORD
        response = meter.step("login POST", lambda: browser.request("POST", action or page.url, fields))  # type: ignore[attr-defined]
        assert response.status in (302, 303), (response.status, response.body[:300])  # type: ignore[attr-defined]
        again = response.location  # type: ignore[attr-defined]
        response = meter.step("authorize again", lambda: browser.request("GET", again))
        code = parse_qs(urlsplit(response.location).query)["code"][0]  # type: ignore[attr-defined]
        auth = {"Authorization": basic_auth(targets.CLIENT_ID, target.client_secret)}
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": targets.REDIRECT_URI,
            "code_verifier": verifier,
        }
        response = meter.step("code exchange", lambda: browser.request("POST", target.token, exchange, auth))
        tokens = response.json()  # type: ignore[attr-defined]
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        meter.step("userinfo", lambda: browser.request("GET", target.userinfo, None, bearer))
        meter.step(
            "introspection",
            lambda: browser.request("POST", target.introspect, {"token": str(tokens["access_token"])}, auth),
        )
        refresh = {"grant_type": "refresh_token", "refresh_token": str(tokens["refresh_token"])}
        response = meter.step("refresh", lambda: browser.request("POST", target.token, refresh, auth))
        assert response.status == 200, response.body[:300]  # type: ignore[attr-defined]
    finally:
        browser.close()
    relying_party = Browser(target.base_url)  # no cookies: as a relying party fetches metadata
    try:
        meter.step("discovery", lambda: relying_party.request("GET", target.discovery))
        meter.step("jwks", lambda: relying_party.request("GET", target.jwks))
    finally:
        relying_party.close()


def hash_ms(legacy_hash: str, rounds: int = 10) -> float:
    from accounts.hashers import verify_password

    times = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        assert verify_password(flows.PASSWORD, legacy_hash).ok
        times.append((time.thread_time_ns() - started) / 1e6)
    return statistics.median(times)


def measure(target: targets.Target, rounds: int, users: int) -> dict[str, dict[str, float]]:
    target.start()
    try:
        meter = Meter(target)
        for i in range(3):  # warm-up: imports, connections, per-process caches
            one_round(target, meter, f"user{i + 1}")
        meter.samples.clear()
        for i in range(rounds):
            one_round(target, meter, f"user{(i % users) + 1}")
    finally:
        target.stop()
    return {
        step: {
            "server_ms": round(statistics.median(s for s, _ in meter.samples[step]), 2),
            "database_ms": round(statistics.median(d for _, d in meter.samples[step]), 2),
        }
        for step in STEPS
        if meter.samples.get(step)
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--peers", default="bridge,dot")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--bridge-env", action="append", default=[], metavar="NAME=VALUE", help="extra bridge setting"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import bcrypt

    raw_hash = bcrypt.hashpw(flows.PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    legacy_hash = raw_hash.replace("$2b$", "$2y$", 1)
    server = targets.ServerConfig(1, 1, "gthread")
    extra_env = dict(item.split("=", 1) for item in args.bridge_env)
    workdir = Path(tempfile.mkdtemp(prefix="request-cost-"))
    report: dict[str, object] = {"hash_ms": round(hash_ms(legacy_hash), 2), "peers": {}}
    for name in [p.strip() for p in args.peers.split(",") if p.strip()]:
        if name == "bridge":
            target = targets.bridge(workdir / "bridge", server, args.users, legacy_hash, extra_env)
        elif name == "dot":
            target = targets.stock_dot(workdir / "dot", server, args.users, "bcrypt$" + raw_hash)
        else:
            raise SystemExit(f"unknown peer {name!r} (bridge, dot)")
        try:
            report["peers"][name] = measure(target, args.rounds, args.users)  # type: ignore[index]
        finally:
            target.cleanup()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def print_report(report: dict[str, object]) -> None:
    peers: dict[str, dict[str, dict[str, float]]] = report["peers"]  # type: ignore[assignment]
    names = list(peers)
    print(f"CPU per request, median (ms): server worker + database backend; hash {report['hash_ms']} ms")
    print(f"{'step':<16}" + "".join(f" | {n + ' server':>14} {'db':>6}" for n in names))
    for step in STEPS:
        cells = []
        for n in names:
            figures = peers[n].get(step)
            cells.append(
                f" | {figures['server_ms']:>14.2f} {figures['database_ms']:>6.2f}"
                if figures
                else f" | {'-':>14} {'-':>6}"
            )
        print(f"{step:<16}" + "".join(cells))
    for n in names:
        login = [peers[n][s]["server_ms"] for s in STEPS[:5] if s in peers[n]]
        db = [peers[n][s]["database_ms"] for s in STEPS[:5] if s in peers[n]]
        own = sum(login) - float(report["hash_ms"])  # type: ignore[arg-type]
        print(
            f"{n}: a login costs {sum(login):.1f} ms of server CPU ({own:.1f} ms besides the hash, "
            f"{100 * own / float(report['hash_ms']):.0f}% of it) and {sum(db):.1f} ms of database CPU"  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    raise SystemExit(main())
