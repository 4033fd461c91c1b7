"""The floor under any refresh grant that keeps its tokens in PostgreSQL, on this machine.

    .venv/bin/python benchmarks/durable_floor.py [--seconds 5] [--concurrency 16] [--processes 2]

oidc-provider's refresh grant in side_by_side.py keeps its tokens in memory: nothing is written to
disk and nothing crosses a socket but the HTTP request. The bridge's grant must survive a restart,
so each one is a PostgreSQL transaction with a durable commit, plus an RS256 ID-token signature.
This measures that work alone, with nothing of the bridge around it: no HTTP, no Django, no
oauthlib, in as many processes as the machine has cores, psycopg with prepared statements, one
transaction per grant on the same PostgreSQL server the benchmark uses:

    BEGIN; SELECT the refresh token by its hash FOR UPDATE; UPDATE it revoked; DELETE its access
    token; INSERT the new access token; INSERT the new refresh token; INSERT an audit row; COMMIT

then the same with the RS256 signature (jwcrypto, 2048-bit, as the bridge signs) added to each.
Whatever a refresh grant built on durable PostgreSQL storage does, it does at least this; the
figures bound from above what such a server can reach here. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sbs.system import create_database, drop_database  # noqa: E402

SCHEMA = """
CREATE TABLE access_token (id bigserial PRIMARY KEY, token_hash text UNIQUE NOT NULL, user_id bigint NOT NULL,
    expires timestamptz NOT NULL, scope text NOT NULL);
CREATE TABLE refresh_token (id bigserial PRIMARY KEY, token_hash text UNIQUE NOT NULL, user_id bigint NOT NULL,
    access_token_id bigint REFERENCES access_token ON DELETE SET NULL, revoked timestamptz);
CREATE TABLE audit_event (id bigserial PRIMARY KEY, kind text NOT NULL, occurred_at timestamptz NOT NULL,
    data jsonb NOT NULL);
"""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seed(url: str, chains: int, first_user: int = 0) -> list[str]:
    """``chains`` refresh tokens, each with its access token, for users from ``first_user`` on."""
    import psycopg

    tokens = [secrets.token_urlsafe(32) for _ in range(chains)]
    with psycopg.connect(url, autocommit=True) as db, db.cursor() as cursor:
        for user, token in enumerate(tokens, start=first_user):
            cursor.execute(
                "INSERT INTO access_token (token_hash, user_id, expires, scope)"
                " VALUES (%s, %s, now() + interval '1 hour', 'openid profile email') RETURNING id",
                [digest(f"a{token}"), user],
            )
            access_id = cursor.fetchone()[0]  # type: ignore[index]
            cursor.execute(
                "INSERT INTO refresh_token (token_hash, user_id, access_token_id) VALUES (%s, %s, %s)",
                [digest(token), user, access_id],
            )
        cursor.execute("ANALYZE")
    return tokens


def rotate(cursor, token: str) -> str:  # type: ignore[no-untyped-def]
    """One refresh grant's database work; the new refresh token."""
    cursor.execute(
        "SELECT id, user_id, access_token_id FROM refresh_token WHERE token_hash = %s AND revoked IS NULL"
        " FOR UPDATE",
        [digest(token)],
    )
    row_id, user_id, access_id = cursor.fetchone()
    cursor.execute("UPDATE refresh_token SET revoked = now() WHERE id = %s", [row_id])
    cursor.execute("DELETE FROM access_token WHERE id = %s", [access_id])
    new_refresh = secrets.token_urlsafe(32)
    cursor.execute(
        "INSERT INTO access_token (token_hash, user_id, expires, scope)"
        " VALUES (%s, %s, now() + interval '1 hour', 'openid profile email') RETURNING id",
        [digest(secrets.token_urlsafe(32)), user_id],
    )
    new_access_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO refresh_token (token_hash, user_id, access_token_id) VALUES (%s, %s, %s)",
        [digest(new_refresh), user_id, new_access_id],
    )
    cursor.execute(
        "INSERT INTO audit_event (kind, occurred_at, data) VALUES ('token.refreshed', now(), %s)",
        [json.dumps({"user": user_id, "client": "bench-rp"})],
    )
    return new_refresh


def run_process(args: tuple[str, list[str], float, bool]) -> int:
    """Threads, one token chain and one connection each, rotating until the deadline."""
    import psycopg
    from jwcrypto import jwk, jwt

    url, tokens, seconds, sign = args
    key = jwk.JWK.generate(kty="RSA", size=2048) if sign else None
    done = [0] * len(tokens)
    start_line = threading.Barrier(len(tokens))

    def chain(index: int) -> None:
        token = tokens[index]
        with psycopg.connect(url, prepare_threshold=0) as db:
            start_line.wait()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                with db.transaction(), db.cursor() as cursor:
                    token = rotate(cursor, token)
                if key is not None:
                    claims = {"iss": "https://idp.example.edu", "sub": str(index), "aud": "bench-rp"}
                    id_token = jwt.JWT(header={"alg": "RS256", "kid": "k"}, claims=claims)
                    id_token.make_signed_token(key)
                    id_token.serialize()
                done[index] += 1

    threads = [threading.Thread(target=chain, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def measure(url: str, tokens: list[str], processes: int, seconds: float, sign: bool) -> float:
    """Grants per second: each process counts from its own start line, so its start-up is not part
    of the rate."""
    share = [tokens[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        total = sum(pool.map(run_process, [(url, part, seconds, sign) for part in share]))
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16, help="transactions in flight (threads in all)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    url = create_database("bench_floor")
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            db.execute(SCHEMA)
        tokens = seed(url, args.concurrency)
        durable = measure(url, tokens, args.processes, args.seconds, sign=False)
        tokens = seed(url, args.concurrency, first_user=10_000)  # fresh chains for the second run
        signed = measure(url, tokens, args.processes, args.seconds, sign=True)
    finally:
        drop_database(url)
    report = {
        "concurrency": args.concurrency,
        "processes": args.processes,
        "seconds": args.seconds,
        "transactions_per_second": round(durable, 1),
        "transactions_with_rs256_per_second": round(signed, 1),
    }
    print(
        f"refresh-grant floor on durable PostgreSQL, {args.concurrency} in flight, {args.processes} processes:\n"
        f"  database work alone          {durable:9,.1f}/s\n"
        f"  with the RS256 ID token      {signed:9,.1f}/s"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
