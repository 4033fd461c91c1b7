"""The bridge beside stock django-oauth-toolkit and panva's oidc-provider, on this machine, in one run.

    .venv/bin/python benchmarks/side_by_side.py [--quick] [--peers bridge,dot,node] [--json FILE]

One server runs at a time, alone on the machine with PostgreSQL and the load generator:
- idp-bridge as bin/entrypoint runs it (gunicorn, PostgreSQL, DEBUG off; an http loopback issuer),
  over a PostgreSQL legacy table of --users users (bcrypt $2y$ cost 10);
- stock DOT: a minimal django-oauth-toolkit OIDC project generated from benchmarks/peers/stock_dot
  (same gunicorn settings, same database server, DOT's defaults incl. its client-secret hasher);
- oidc-provider: panva's library pinned in benchmarks/peers/node (npm ci), in-memory store;
- the ceilings: a static response from a bare WSGI callable under the same gunicorn settings, and
  legacy hash verifications per second on all cores.
Each endpoint runs for --duration seconds at each concurrency (16 and 64): discovery, JWKS,
userinfo, introspection and the token endpoint (refresh_token grant, rotation on, every request
spends a never-used refresh token); then full interactive logins (authorize, login form, code
exchange). Load: wrk with benchmarks/sbs/bench.lua; logins: Python threads with http.client.
It prints one table with the ratios and the targets, and saves everything as JSON. With
--scale-users it also signs users in against a legacy table of that many users (default
1,000,000), to compare login p99 with the --users table. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sbs import flows, profile, system, targets  # noqa: E402
from sbs.browser import basic_auth  # noqa: E402
from sbs.load import Measurement, run_wrk, wrk_threads  # noqa: E402
from sbs.system import CpuMeter, describe_machine, wait_quiet  # noqa: E402

ENDPOINTS = ("discovery", "jwks", "userinfo", "introspection", "token")
TOKEN_PATH = ("userinfo", "introspection", "token")
PEER_ORDER = ("bridge", "dot", "node")
ACCESS_POOL = 8
# Headers the server or each request supplies: the static ceiling must not repeat them.
PER_REQUEST_HEADERS = frozenset({"date", "server", "x-request-id", "connection", "keep-alive"})


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- ceilings --------------------------------------------------------------------------------------
def _verify_for(args: tuple[str, str, float]) -> int:
    from accounts.hashers import verify_password

    password, stored, seconds = args
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert verify_password(password, stored).ok
        done += 1
    return done


def hash_ceiling(stored: str, seconds: float) -> dict[str, object]:
    """Legacy verifications per second with every core busy (the bridge's own verifier)."""
    cores = os.cpu_count() or 1
    wait_quiet()
    started = time.monotonic()
    with ProcessPoolExecutor(cores) as pool:
        counts = list(pool.map(_verify_for, [(flows.PASSWORD, stored, seconds)] * cores))
    elapsed = time.monotonic() - started
    return {
        "scheme": "bcrypt $2y$ cost 10 (accounts.hashers.verify_password)",
        "processes": cores,
        "per_second": round(sum(counts) / seconds, 1),
        "ms_per_verification_one_core": round(1000 * seconds * cores / max(sum(counts), 1), 1),
        "wall_seconds": round(elapsed, 1),
    }


# --- one server ------------------------------------------------------------------------------------
def measure_endpoints(
    target: targets.Target,
    concurrencies: list[int],
    seconds: float,
    tokens: list[flows.Tokens],
    profile_dir: Path | None,
    users: int,
    max_seconds: float,
) -> dict[str, dict[str, object]]:
    workdir = target.workdir
    spy = profiling(target, profile_dir)
    auth = basic_auth(targets.CLIENT_ID, target.client_secret)
    access_file = workdir / "access_tokens.txt"
    # oidc-provider keeps its tokens in memory: they are minted just before each run that uses
    # them (cheap there); the bridge and stock DOT use the ones their logins left in the database.
    volatile = target.name == "node"
    spare = [] if volatile else tokens[ACCESS_POOL:]

    def write_access_pool() -> None:
        pool = flows.mint(target, ACCESS_POOL, users) if volatile else tokens[:ACCESS_POOL]
        access_file.write_text("\n".join(t.access_token for t in pool) + "\n")

    def cell(endpoint: str, concurrency: int, duration: float) -> Measurement:
        nonlocal spare
        key = f"{endpoint}@{concurrency}"
        if endpoint in ("userinfo", "introspection"):
            write_access_pool()
        if volatile and endpoint == "token":
            spare = []
        common = {"server_pids": target.pids(), **spy(key)}
        if endpoint in ("discovery", "jwks"):
            path = target.discovery if endpoint == "discovery" else target.jwks
            return run_wrk(target.base_url, "get", path, concurrency, duration, **common)
        if endpoint == "userinfo":
            return run_wrk(
                target.base_url,
                "userinfo",
                target.userinfo,
                concurrency,
                duration,
                token_file=access_file,
                **common,
            )
        if endpoint == "introspection":
            return run_wrk(
                target.base_url,
                "introspect",
                target.introspect,
                concurrency,
                duration,
                auth=auth,
                token_file=access_file,
                **common,
            )
        need = refresh_pool_size(concurrency)
        if len(spare) < need:
            log(f"  minting {need - len(spare)} more token pairs")
            spare += flows.mint(target, need - len(spare), users)
        pool, spare = spare[:need], spare[need:]
        refresh_file = workdir / f"refresh_tokens_{concurrency}.txt"
        refresh_file.write_text("\n".join(t.refresh_token for t in pool) + "\n")
        return run_wrk(
            target.base_url,
            "refresh",
            target.token,
            concurrency,
            duration,
            auth=auth,
            token_file=refresh_file,
            **common,
        )

    results: dict[str, dict[str, object]] = {}
    for endpoint in ENDPOINTS:
        if target.name == "static" and endpoint != "discovery":
            continue
        for concurrency in concurrencies:
            key = f"{endpoint}@{concurrency}"
            m = cell(endpoint, concurrency, seconds)
            if m.requests < 2 * concurrency and seconds < max_seconds:
                # Too few answers for a rate or a p99 (a server that needs seconds per request):
                # once more, long enough for about two answers per connection.
                longer = max_seconds if m.rps <= 0 else min(max_seconds, 2 * concurrency / m.rps + seconds)
                log(
                    f"  {target.label:<15} {key:<17} only {m.requests} answers in {seconds:g} s; again for {longer:.0f} s"
                )
                m = cell(endpoint, concurrency, longer)
            results[key] = m.as_dict()
            log(
                f"  {target.label:<15} {key:<17} {m.rps:>9.1f}/s  p50 {m.p50_ms:7.2f} ms  p99 {m.p99_ms:8.2f} ms"
                f"  errors {m.errors}  cpu {m.cpu}"
            )
    return results


def profiling(target: targets.Target, profile_dir: Path | None):  # type: ignore[no-untyped-def]
    """Keyword arguments for run_wrk that record a py-spy profile of a Python server, if asked."""

    def spy(key: str) -> dict[str, object]:
        if (
            profile_dir is None
            or target.name == "node"
            or target.service is None
            or target.service.proc is None
        ):
            return {}
        return {
            "profile_to": profile_dir / f"{target.name}-{key.replace('@', '-')}.txt",
            "master_pid": target.service.proc.pid,
        }

    return spy


def refresh_pool_size(concurrency: int) -> int:
    # Each wrk thread needs one never-used token per connection it holds, plus a margin for errors.
    threads = min(wrk_threads(), concurrency)
    return threads * (math.ceil(concurrency / threads) + 4)


def tokens_needed(concurrencies: list[int]) -> int:
    return ACCESS_POOL + sum(refresh_pool_size(c) for c in concurrencies)


def measure_logins(
    target: targets.Target,
    concurrencies: list[int],
    seconds: float,
    warmup: float,
    users: int,
    max_seconds: float,
    profile_dir: Path | None = None,
) -> tuple[dict[str, dict[str, object]], list[flows.Tokens]]:
    results: dict[str, dict[str, object]] = {}
    spy = profiling(target, profile_dir)
    harvested: list[flows.Tokens] = []

    def run_at(concurrency: int, window: float, ramp: float) -> dict[str, object]:
        wait_quiet()
        meter = CpuMeter(target.pids())
        recording = spy(f"login@{concurrency}")
        recorder = (
            profile.start(recording["master_pid"], window + ramp, recording["profile_to"])  # type: ignore[arg-type]
            if recording
            else None
        )
        run = flows.measure_logins(target, users, concurrency, window, ramp)
        cpu = meter.stop(run.generator_cpu)
        profile_summary = {}
        if recorder is not None:
            recorder.wait(timeout=60)
            profile_summary = {"profile": profile.summarise(recording["profile_to"])}  # type: ignore[arg-type]
        harvested.extend(run.tokens)
        return {
            "rps": round(run.completed / window, 2),
            "p50_ms": round(percentile(run.latencies_ms, 50), 1),
            "p99_ms": round(percentile(run.latencies_ms, 99), 1),
            "requests": run.completed,
            "errors": run.errors,
            "seconds": window,
            "warmup_seconds": ramp,
            "cpu": cpu,
            **({"first_error": run.first_error} if run.first_error else {}),
            **profile_summary,
        }

    for concurrency in concurrencies:
        r = run_at(concurrency, seconds, warmup)
        if int(r["requests"]) < concurrency and seconds < max_seconds:  # type: ignore[call-overload]
            # A server that needs seconds per login: let the first round of logins finish before
            # counting, and count long enough for about two logins per browser.
            rate = float(r["rps"])  # type: ignore[arg-type]
            ramp = min(max_seconds, concurrency / rate) if rate > 0 else max_seconds / 2
            log(
                f"  {target.label:<15} login@{concurrency:<11} only {r['requests']} logins; again, {ramp:.0f} s + {max_seconds:.0f} s"
            )
            r = run_at(concurrency, max_seconds, ramp)
        results[f"login@{concurrency}"] = r
        log(
            f"  {target.label:<15} login@{concurrency:<11} {r['rps']:>9.2f}/s  p50 {r['p50_ms']:7.1f} ms"
            f"  p99 {r['p99_ms']:8.1f} ms  errors {r['errors']}  cpu {r['cpu']}"
        )
    return results, harvested


def measure_target(
    target: targets.Target, args: argparse.Namespace, concurrencies: list[int]
) -> dict[str, object]:
    log(f"{target.label}: starting at {target.base_url}")
    target.start()
    with urllib.request.urlopen(target.base_url + target.discovery) as response:
        target.discovery_body = response.read()
        target.discovery_headers = [
            (name, value) for name, value in response.getheaders() if name.lower() not in PER_REQUEST_HEADERS
        ]
    try:
        # Warm-up (not recorded): every worker thread imports, connects and caches what it will.
        run_wrk(target.base_url, "get", target.discovery, 16, 1 if args.quick else 2, target.pids())
        if target.name == "static":
            return {
                "results": measure_endpoints(
                    target, concurrencies, args.duration, [], args.profile, args.users, args.max_duration
                )
            }
        flows.mint(target, 16, args.users)
        results, tokens = measure_logins(
            target,
            concurrencies,
            args.login_duration,
            args.login_warmup,
            args.users,
            args.max_duration,
            args.profile,
        )
        missing = tokens_needed(concurrencies) - len(tokens)
        if missing > 0:
            log(f"  minting {missing} more token pairs")
            tokens += flows.mint(target, missing, args.users)
        results |= measure_endpoints(
            target, concurrencies, args.duration, tokens, args.profile, args.users, args.max_duration
        )
        return {"results": results}
    finally:
        target.stop()


# --- the table -------------------------------------------------------------------------------------
def ratio(a: object, b: object) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float) and b > 0:
        return a / b
    return None


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def build_rows(report: dict[str, object], concurrencies: list[int]) -> list[dict[str, object]]:
    res = {name: data["results"] for name, data in report["targets"].items()}  # type: ignore[attr-defined]
    static = res.get("static", {})
    hash_rate = report["ceilings"]["hash"]["per_second"]  # type: ignore[index]
    rows = []
    for endpoint in (*ENDPOINTS, "login"):
        for c in concurrencies:
            key = f"{endpoint}@{c}"
            row: dict[str, object] = {"endpoint": endpoint, "concurrency": c}
            for name in PEER_ORDER:
                if key in res.get(name, {}):
                    row[name] = res[name][key]
            bridge_rps = row.get("bridge", {}).get("rps")  # type: ignore[attr-defined]
            row["vs_dot"] = ratio(bridge_rps, row.get("dot", {}).get("rps"))  # type: ignore[attr-defined]
            row["vs_node"] = ratio(bridge_rps, row.get("node", {}).get("rps"))  # type: ignore[attr-defined]
            if endpoint in ("discovery", "jwks"):
                row["vs_ceiling"] = ratio(bridge_rps, static.get(f"discovery@{c}", {}).get("rps"))
            elif endpoint == "login":
                row["vs_ceiling"] = ratio(bridge_rps, hash_rate)
            rows.append(row)
    return rows


def target_verdicts(report: dict[str, object], rows: list[dict[str, object]]) -> list[dict[str, object]]:
    verdicts = []

    def add(name: str, values: list[float | None], floor: float) -> None:
        present = [v for v in values if v is not None]
        if present:
            verdicts.append(
                {
                    "target": name,
                    "worst": round(min(present), 2),
                    "floor": floor,
                    "met": min(present) >= floor,
                }
            )

    token_rows = [r for r in rows if r["endpoint"] in TOKEN_PATH]
    add("token-path endpoints >= 2x stock DOT", [r["vs_dot"] for r in token_rows], 2.0)  # type: ignore[misc]
    add("token-path endpoints >= 1x oidc-provider", [r["vs_node"] for r in token_rows], 1.0)  # type: ignore[misc]
    add(
        "discovery and JWKS >= 0.8x static ceiling",
        [r.get("vs_ceiling") for r in rows if r["endpoint"] in ("discovery", "jwks")],  # type: ignore[misc]
        0.8,
    )
    add(
        "logins/s >= 0.9x hash-bound ceiling",
        [r.get("vs_ceiling") for r in rows if r["endpoint"] == "login"],
        0.9,
    )  # type: ignore[misc]
    scale = report.get("scale")
    if isinstance(scale, dict) and "p99_ratio" in scale:
        verdicts.append(
            {
                "target": f"login p99 at {scale['users']:,} users <= 1.2x at {scale['baseline_users']:,}",
                "worst": scale["p99_ratio"],
                "ceiling": 1.2,
                "met": scale["p99_ratio"] <= 1.2,
            }
        )
    return verdicts


def print_table(
    report: dict[str, object], rows: list[dict[str, object]], verdicts: list[dict[str, object]]
) -> None:
    present = [n for n in PEER_ORDER if n in report["targets"]]  # type: ignore[operator]
    labels = {"bridge": "idp-bridge", "dot": "stock DOT", "node": "oidc-provider"}
    machine = report["machine"]
    print()
    print(
        f"Side by side on {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']} GiB), "  # type: ignore[index]
        f"PostgreSQL {machine['postgresql']}, Python {machine['python']}, Node.js {machine['node']}"  # type: ignore[index]
    )
    print(f"Python servers: {report['settings']['server']}; load: {report['settings']['generator']}")  # type: ignore[index]
    settings = report["settings"]
    print(
        f"{settings['duration']} s per endpoint and concurrency (longer where a server answered too few),"  # type: ignore[index]
        f" logins {settings['login_duration']} s; rps = 2xx answers per second; p50/p99 in ms;"  # type: ignore[index]
        " ! = errors, ~ = other work on the machine used > 0.15 cores meanwhile"
    )
    header = f"{'endpoint':<14}{'conc':>5}"
    for name in present:
        header += f" | {labels[name]:>14} {'p50':>7} {'p99':>8}"
    header += " | " + f"{'vs DOT':>7} {'vs node':>7} {'vs ceil':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        line = f"{row['endpoint']:<14}{row['concurrency']:>5}"
        for name in present:
            cell = row.get(name)
            if isinstance(cell, dict):
                marks = ("!" if cell.get("errors") else "") + (
                    "~" if cell.get("cpu", {}).get("other_cores", 0) > 0.15 else ""
                )
                rps = f"{marks}{cell['rps']:,.1f}"
                line += f" | {rps:>14} {cell['p50_ms']:>7.1f} {cell['p99_ms']:>8.1f}"
            else:
                line += f" | {'-':>14} {'-':>7} {'-':>8}"
        line += f" | {fmt_ratio(row['vs_dot']):>7} {fmt_ratio(row['vs_node']):>7} {fmt_ratio(row.get('vs_ceiling')):>7}"  # type: ignore[arg-type]
        print(line)
    ceilings = report["ceilings"]
    static = report["targets"].get("static", {}).get("results", {})  # type: ignore[attr-defined]
    print()
    print("Ceilings of this machine:")
    for key, value in sorted(static.items()):
        print(
            f"  static response ({key.split('@')[1]} connections): {value['rps']:,.1f}/s, p50 {value['p50_ms']:.2f} ms,"
            f" p99 {value['p99_ms']:.2f} ms; wrk used {value['cpu']['generator_cores']:.2f} cores,"
            f" the server {value['cpu']['server_cores']:.2f}"
        )
    h = ceilings["hash"]  # type: ignore[index]
    print(
        f"  legacy hash verifications: {h['per_second']:,.1f}/s on {h['processes']} processes ({h['scheme']};"
        f" {h['ms_per_verification_one_core']} ms each on one core)"
    )
    scale = report.get("scale")
    if isinstance(scale, dict) and scale:
        print(
            f"  login p99 with {scale['users']:,} legacy users: {scale['p99_ms']:.1f} ms vs {scale['baseline_p99_ms']:.1f} ms"
            f" with {scale['baseline_users']:,} ({scale['p99_ratio']:.2f}x) at {scale['concurrency']} connections"
        )
    profiled = [
        (key, value["profile"])
        for key, value in report["targets"].get("bridge", {}).get("results", {}).items()  # type: ignore[attr-defined]
        if value.get("profile")
    ]
    if profiled:
        print()
        print(
            "Where the bridge's time goes (py-spy, share of samples of threads not waiting, by innermost group):"
        )
        for key, summary in profiled:
            groups = ", ".join(
                f"{label} {share:.0f}%" for label, share in list(summary["groups"].items())[:4]
            )
            print(f"  {key:<17} {groups}")
    if verdicts:
        print()
        print("Targets (worst ratio over the rows):")
        for v in verdicts:
            bound = f">= {v['floor']}" if "floor" in v else f"<= {v['ceiling']}"
            print(f"  [{'met ' if v['met'] else 'MISS'}] {v['target']}: {v['worst']:.2f} ({bound})")
    notes = [n for data in report["targets"].values() for n in data.get("notes", [])]  # type: ignore[attr-defined]
    for name, data in report["targets"].items():  # type: ignore[attr-defined]
        if data.get("hash_scheme"):
            notes.append(f"{labels.get(name, name)} login hash: {data['hash_scheme']}")
    if notes:
        print()
        for note in notes:
            print(f"  * {note}")


# --- main --------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 1 s per endpoint, concurrency 16, no scale run"
    )
    parser.add_argument("--peers", default="bridge,dot,node", help="which servers to run (bridge,dot,node)")
    parser.add_argument("--concurrency", default=None, help="comma-separated (default 16,64)")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per endpoint and concurrency (4)"
    )
    parser.add_argument(
        "--max-duration", type=float, default=None, help="longest rerun of a cell with too few answers (20)"
    )
    parser.add_argument("--login-duration", type=float, default=None, help="seconds of counted logins (6)")
    parser.add_argument("--login-warmup", type=float, default=None, help="seconds of logins not counted (2)")
    parser.add_argument("--users", type=int, default=1000, help="legacy users of the main runs")
    parser.add_argument(
        "--scale-users", type=int, default=None, help="legacy users of the login scale run (1000000; 0 skips)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn workers of the Python servers (default 2 per core: benchmarks/worker_sweep.py)",
    )
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per gthread worker")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument(
        "--bridge-db-options",
        default="",
        metavar="QUERY",
        help="appended to the bridge's DATABASE_URL, e.g. server_side_binding=true&prepare_threshold=2",
    )
    parser.add_argument(
        "--bridge-env", action="append", default=[], metavar="NAME=VALUE", help="extra bridge setting"
    )
    parser.add_argument(
        "--json", type=Path, help="where to save the figures (default var/bench/side_by_side-<time>.json)"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="record py-spy profiles of the Python servers into DIR"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other work on the machine to stop (0: never)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="scheduling priority of the harness and the servers on a shared machine (e.g. -5; negative needs root)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, generated peer)")
    args = parser.parse_args()
    quick = args.quick
    args.concurrency = args.concurrency or ("16" if quick else "16,64")
    args.duration = args.duration or (1.0 if quick else 4.0)
    args.max_duration = args.max_duration or (5.0 if quick else 20.0)
    args.login_duration = args.login_duration or (2.0 if quick else 6.0)
    args.login_warmup = args.login_warmup if args.login_warmup is not None else (0.5 if quick else 2.0)
    args.scale_users = args.scale_users if args.scale_users is not None else (0 if quick else 1_000_000)
    return args


def main() -> int:
    # Stop cleanly (servers, databases, work directory) on Ctrl-C and on SIGTERM, also when started
    # in the background, where the shell has SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args()
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(peers) - set(PEER_ORDER)
    if unknown:
        raise SystemExit(f"unknown peers: {', '.join(sorted(unknown))} (choose from {', '.join(PEER_ORDER)})")
    for tool, why in (("wrk", "apt-get install wrk"), ("node", "Node.js 20+"), ("npm", "npm")):
        if shutil.which(tool) is None and (tool == "wrk" or "node" in peers):
            raise SystemExit(f"{tool} is needed ({why})")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    system.QUIET_WAIT["seconds"] = args.quiet_wait
    system.NICE["value"] = args.nice
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # wrk, py-spy and the login threads inherit it
        system.set_autogroup_nice()
    server = targets.ServerConfig(args.workers, args.threads, args.worker_class)
    extra_env = dict(item.split("=", 1) for item in args.bridge_env)
    cache_root = ROOT / "var" / "bench"
    cache_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    started = time.monotonic()

    import bcrypt

    raw_hash = bcrypt.hashpw(flows.PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()  # $2b$10$...
    legacy_hash = raw_hash.replace("$2b$", "$2y$", 1)  # as PHP portals store it

    report: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "settings": {
            "server": server.describe(),
            "generator": f"wrk, {wrk_threads()} threads (benchmarks/sbs/bench.lua); logins: Python threads, http.client",
            "duration": args.duration,
            "login_duration": args.login_duration,
            "login_warmup": args.login_warmup,
            "concurrency": concurrencies,
            "users": args.users,
            "bridge_env": extra_env,
            "bridge_db_options": args.bridge_db_options,
            "nice": args.nice,
            "refresh_tokens": "rotation on everywhere; every request spends a never-used refresh token (chained)",
        },
        "ceilings": {},
        "targets": {},
    }
    made: list[targets.Target] = []
    try:
        log(f"hash ceiling: {os.cpu_count()} processes")
        report["ceilings"]["hash"] = hash_ceiling(legacy_hash, 1.0 if args.quick else 5.0)  # type: ignore[index]
        discovery_body, discovery_headers = b"", []
        for name in PEER_ORDER:
            if name not in peers:
                continue
            log(f"setting up {name}")
            if name == "bridge":
                target = targets.bridge(
                    workdir / "bridge", server, args.users, legacy_hash, extra_env, args.bridge_db_options
                )
            elif name == "dot":
                target = targets.stock_dot(workdir / "dot", server, args.users, "bcrypt$" + raw_hash)
            else:
                target = targets.node_peer(workdir / "node", cache_root, args.users, raw_hash)
            made.append(target)
            data = measure_target(target, args, concurrencies)
            report["targets"][name] = data | {"notes": target.notes, "hash_scheme": target.hash_scheme}  # type: ignore[index]
            if name == "bridge":
                discovery_body, discovery_headers = target.discovery_body, target.discovery_headers
                target.cleanup()
                if args.scale_users:
                    report["scale"] = scale_run(args, server, legacy_hash, extra_env, workdir, data, made)
        static = targets.static_ceiling(
            workdir / "static", server, discovery_body or b'{"issuer":"x"}' * 100, discovery_headers
        )
        made.append(static)
        report["targets"]["static"] = measure_target(static, args, concurrencies)  # type: ignore[index]
    finally:
        for target in made:
            target.cleanup()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work directory kept: {workdir}")

    rows = build_rows(report, concurrencies)
    verdicts = target_verdicts(report, rows)
    report["rows"] = rows
    report["targets_met"] = verdicts
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print_table(report, rows, verdicts)
    out = args.json or cache_root / f"side_by_side-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nSaved {out} ({report['wall_seconds']} s)")
    return 0


def scale_run(
    args: argparse.Namespace,
    server: targets.ServerConfig,
    legacy_hash: str,
    extra_env: dict[str, str],
    workdir: Path,
    baseline: dict[str, object],
    made: list[targets.Target],
) -> dict[str, object]:
    """Logins against a legacy table of --scale-users users, compared with the --users run."""
    concurrency = 16
    base = baseline["results"].get(f"login@{concurrency}")  # type: ignore[attr-defined]
    if not base:
        return {}
    log(f"scale run: seeding {args.scale_users:,} legacy users")
    target = targets.bridge(
        workdir / "bridge-scale", server, args.scale_users, legacy_hash, extra_env, args.bridge_db_options
    )
    made.append(target)
    target.start()
    try:
        flows.mint(target, 16, args.scale_users)
        run = flows.measure_logins(
            target, args.scale_users, concurrency, args.login_duration, args.login_warmup
        )
    finally:
        target.cleanup()
    p99 = percentile(run.latencies_ms, 99)
    log(f"  scale: {run.completed / args.login_duration:.2f} logins/s, p99 {p99:.1f} ms")
    return {
        "users": args.scale_users,
        "baseline_users": args.users,
        "concurrency": concurrency,
        "rps": round(run.completed / args.login_duration, 2),
        "p50_ms": round(statistics.median(run.latencies_ms), 1) if run.latencies_ms else None,
        "p99_ms": round(p99, 1),
        "baseline_p99_ms": base["p99_ms"],
        "p99_ratio": round(p99 / base["p99_ms"], 2),
        "errors": run.errors,
    }


if __name__ == "__main__":
    sys.exit(main())
