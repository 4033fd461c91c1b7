"""Login latency against a legacy PostgreSQL table of 1,000 and 1,000,000 users, and hash costs.

    .venv/bin/python benchmarks/legacy_login.py [--sizes 1000,1000000] [--logins 300]

For each table size it measures, on the same machine in the same run:
- baseline: the bare indexed SELECT through psycopg (what any login must cost at least);
- lookup:   the legacy user source's get_by_login (mapping, dialect, row to LegacyUser);
- login:    check_legacy_credentials end to end (lookup + bcrypt verification + shadow-user sync),
and the verification cost of each supported scheme at the parameters the portals use.
Figures are printed as a table; --json FILE saves them. Nothing here is asserted: the targets
(login p99 at 1,000,000 users <= 1.2x at 1,000) are read off the table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MAPPING = """
[table]
name = "portal_users"
[columns]
id = "uid"
username = "login"
password = "pass_hash"
email = "email"
given_name = "first_name"
family_name = "last_name"
organization = "institution"
[active]
status = 1
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_portal(size: int, bcrypt_hash: str) -> str:
    import psycopg

    name = f"bench_portal_{size}_{secrets.token_hex(3)}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = PG.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE portal_users (uid SERIAL PRIMARY KEY, login TEXT, pass_hash TEXT, email TEXT,"
            " first_name TEXT, last_name TEXT, institution TEXT, status INTEGER)"
        )
        db.execute(
            "INSERT INTO portal_users (login, pass_hash, email, first_name, last_name, institution, status)"
            " SELECT 'user' || i, %s, 'user' || i || '@example.org', 'Given', 'Family', 'Example U', 1"
            " FROM generate_series(1, %s) AS i",
            (bcrypt_hash, size),
        )
        db.execute("CREATE INDEX portal_users_login ON portal_users (login)")
        db.execute("ANALYZE portal_users")
    return url


def drop(url: str) -> None:
    import psycopg

    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)")


def timed(fn, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def setup_django(state: Path, mapping: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "idp_bridge.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "BRIDGE_ISSUER": "http://127.0.0.1:8000",
            "BRIDGE_USERNAME_DOMAIN": "bench.example.edu",
            "BRIDGE_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(40),
            "BRIDGE_STATE_DIR": str(state),
            "LEGACY_DATABASE_URL": "sqlite:////nonexistent",
            "LEGACY_MAPPING": str(mapping),
            "BRIDGE_LOG_LEVEL": "ERROR",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--logins", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    import bcrypt
    import psycopg

    state = Path(tempfile.mkdtemp(prefix="bench-login-"))
    mapping = state / "mapping.toml"
    mapping.write_text(MAPPING)
    setup_django(state, mapping)
    from django.conf import settings

    from accounts.authentication import check_legacy_credentials
    from accounts.legacy import get_user_source, reset_user_source

    password = "benchmark-password"
    stored = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode().replace("$2b$", "$2y$")
    results: dict[str, object] = {
        "logins_per_size": args.logins,
        "scheme": "bcrypt $2y$ cost 10",
        "sizes": {},
    }
    for size in sizes:
        print(f"seeding {size:,} legacy users ...", file=sys.stderr)
        url = make_portal(size, stored)
        try:
            settings.LEGACY_DATABASE_URL = url
            reset_user_source()
            pick = lambda i: f"user{1 + (i * 7919) % size}"  # noqa: E731 (spread over the table)
            with psycopg.connect(url) as raw:
                baseline = timed(
                    lambda i: raw.execute(
                        "SELECT * FROM portal_users WHERE login = %s LIMIT 2", (pick(i),)
                    ).fetchall(),
                    args.logins,
                )
            source = get_user_source()
            lookup = timed(lambda i: source.get_by_login(pick(i)), args.logins)
            login = timed(lambda i: check_legacy_credentials(pick(i), password), args.logins)
            results["sizes"][size] = {  # type: ignore[index]
                name: {"p50_ms": round(percentile(s, 50), 3), "p99_ms": round(percentile(s, 99), 3)}
                for name, s in (("baseline_select", baseline), ("source_lookup", lookup), ("login", login))
            }
        finally:
            reset_user_source()
            drop(url)

    results["verification_ms"] = scheme_costs()
    print_table(results, sizes)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def scheme_costs() -> dict[str, float]:
    """One verification per scheme, at parameters real portals use (median of 5)."""
    from accounts.hashers import verify_password
    from tests.factories.legacy_hashes import representative_hashes

    costs = {}
    for scheme, (stored, password, context) in representative_hashes().items():
        samples = timed(lambda _i: verify_password(password, stored, context=context), 5)
        costs[scheme] = round(statistics.median(samples), 3)
    return costs


def print_table(results: dict, sizes: list[int]) -> None:  # type: ignore[type-arg]
    print(
        f"\nLegacy login latency (PostgreSQL legacy table, {results['scheme']}, {results['logins_per_size']} logins)"
    )
    print(f"{'users':>10}  {'step':<16} {'p50 ms':>9} {'p99 ms':>9}")
    for size in sizes:
        for step, figures in results["sizes"][size].items():
            print(f"{size:>10,}  {step:<16} {figures['p50_ms']:>9.3f} {figures['p99_ms']:>9.3f}")
    if len(sizes) >= 2:
        small, large = results["sizes"][sizes[0]]["login"], results["sizes"][sizes[-1]]["login"]
        ratio = large["p99_ms"] / small["p99_ms"]
        print(f"login p99 at {sizes[-1]:,} / at {sizes[0]:,} users: {ratio:.2f} (target <= 1.20)")
    print("\nVerification cost per scheme (ms, median of 5)")
    for scheme, ms in sorted(results["verification_ms"].items(), key=lambda kv: -kv[1]):
        print(f"  {scheme:<28} {ms:>10.3f}")


if __name__ == "__main__":
    main()
