"""Two bridge instances on one PostgreSQL database behave as one, over real HTTP and real TLS.

Two ``bin/entrypoint`` stacks (nginx + gunicorn each) start at the same moment on an empty database
(the migration lock makes them take turns), then a user signs in at A and the authorization goes
on at B, the code is exchanged at B, userinfo answers at A, the refresh token rotates at B and its
replay is caught at A; keys rotated with the management command are served first by B, which
signs the next ID token with the new key. Sessions, tokens, keys and the cache are in the shared
database, never in one process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import time
from contextlib import ExitStack
from urllib.parse import urlencode

import psycopg
import pytest
import requests
from jwcrypto import jwk, jwt

from accounts.legacy.demo import DEMO_USERS, create_demo_database
from idp_bridge.deploy import ensure_self_signed
from oidc import keys
from tests.e2e.support import Callback, Page
from tests.ops.stack import (
    bridge_environment,
    free_port,
    manage,
    nginx_binary,
    running,
    throwaway_postgres_database,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

REDIRECT_URI = "https://rp.example.org/callback"
CLIENT_ID = "scaling-rp"
CLIENT_SECRET = "scaling-rp-secret-" + "s" * 32


def header_kid(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


def verified_claims(token: str, jwks: dict) -> dict:
    keyset = jwk.JWKSet.from_json(json.dumps(jwks))
    return json.loads(jwt.JWT(jwt=token, key=keyset, algs=["RS256"]).claims)


def test_two_instances_on_one_database_behave_as_one(tmp_path):
    if os.environ.get("TEST_DATABASE") != "postgres":
        pytest.skip("runs in the TEST_DATABASE=postgres pass (the same test; once is enough)")
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    portal = tmp_path / "portal.db"
    create_demo_database(portal)
    tls = tmp_path / "tls"
    cert = str(ensure_self_signed(tls, ["localhost"])[0])  # the campus certificate, one for both
    ports = {name: (free_port(), free_port(), free_port()) for name in ("a", "b")}
    issuer = f"https://localhost:{ports['a'][0]}"  # what a load balancer in front would be

    with ExitStack() as stack:
        database = stack.enter_context(throwaway_postgres_database())
        shared = bridge_environment(
            tmp_path / "unused",
            BRIDGE_ISSUER=issuer,
            DATABASE_URL=database,
            LEGACY_DATABASE_URL=f"sqlite:///{portal}",
            BRIDGE_PROXY="nginx",
            BRIDGE_TLS_DIR=str(tls),
            BRIDGE_BEHIND_PROXY="true",
            BRIDGE_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_ALLOWED_HOSTS="localhost",
            BRIDGE_LEGACY_STATE_SECONDS="600",
        )
        instances = {}
        for name, (https, http, upstream) in ports.items():
            env = shared | {
                "BRIDGE_STATE_DIR": str(tmp_path / name),
                "BRIDGE_PROXY_LISTEN": f"127.0.0.1:{https}",
                "BRIDGE_PROXY_HTTP_LISTEN": f"127.0.0.1:{http}",
                "BIND": f"127.0.0.1:{upstream}",
            }
            instances[name] = stack.enter_context(running(f"instance-{name}", env, tmp_path))
        a, b = instances["a"], instances["b"]
        url = {name: f"https://localhost:{https}" for name, (https, _, _) in ports.items()}
        for name, instance in instances.items():
            instance.wait_until_serving(f"{url[name]}/readyz", verify=cert)
        # Both started on the empty database at once: one migrated it, the other found it done.
        migrated = sorted("Applying sessions.0001_initial" in i.log for i in instances.values())
        assert migrated == [False, True]
        assert sum("No migrations to apply" in i.log for i in instances.values()) == 1

        registered = a.manage(
            "register_client",
            "--client-id", CLIENT_ID, "--client-secret-stdin", "--redirect-uri", REDIRECT_URI, "--trusted",
            stdin=CLIENT_SECRET + "\n",
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr

        # Sign in at A ...
        alice = next(user for user in DEMO_USERS if user.username == "alice")
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        authorize = "/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "scope": "openid profile email",
                "state": "st-1",
                "nonce": "n-1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        browser = requests.Session()
        to_login = browser.get(url["a"] + authorize, verify=cert, allow_redirects=False, timeout=10)
        assert to_login.status_code == 302, to_login.text
        page = Page.parse(browser.get(url["a"] + to_login.headers["Location"], verify=cert, timeout=10))
        fields = page.form("/login").fields() | {"login": "alice", "password": alice.password}
        signed_in = browser.post(
            f"{url['a']}/login",
            data=fields,
            headers={"Referer": f"{url['a']}/login"},
            verify=cert,
            allow_redirects=False,
            timeout=10,
        )
        assert signed_in.status_code == 303, a.log[-3000:]

        # ... and the same browser session goes on at B, which knows it without a login page.
        at_b = browser.get(
            url["b"] + signed_in.headers["Location"], verify=cert, allow_redirects=False, timeout=10
        )
        assert at_b.status_code == 302, at_b.text[:500]
        callback = Callback.parse(at_b.headers["Location"])
        assert callback.base == REDIRECT_URI and callback.state == "st-1" and callback.iss == issuer

        # The code is exchanged at B; the access token works at A.
        client_auth = (CLIENT_ID, CLIENT_SECRET)
        exchanged = requests.post(
            f"{url['b']}/token",
            data={
                "grant_type": "authorization_code",
                "code": callback.code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=client_auth,
            verify=cert,
            timeout=10,
        )
        assert exchanged.status_code == 200, exchanged.text
        tokens = exchanged.json()
        jwks_a = requests.get(f"{url['a']}/jwks", verify=cert, timeout=10).json()
        claims = verified_claims(tokens["id_token"], jwks_a)
        assert claims["iss"] == issuer and claims["nonce"] == "n-1"
        userinfo = requests.get(
            f"{url['a']}/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            verify=cert,
            timeout=10,
        )
        assert userinfo.status_code == 200 and userinfo.json()["sub"] == claims["sub"]
        assert userinfo.json()["preferred_username"] == "alice@portal.example.edu"

        # The account-state answer A cached is in the shared cache table, for B too.
        with psycopg.connect(database) as db:
            cached = db.execute(
                "SELECT count(*) FROM idp_bridge_cache WHERE cache_key LIKE %s", ["%legacy-state%"]
            )
            assert cached.fetchone()[0] >= 1

        # Refresh at B.
        first_refresh = tokens["refresh_token"]
        refreshed = requests.post(
            f"{url['b']}/token",
            data={"grant_type": "refresh_token", "refresh_token": first_refresh},
            auth=client_auth,
            verify=cert,
            timeout=10,
        )
        assert refreshed.status_code == 200, refreshed.text
        old_kid = header_kid(refreshed.json()["id_token"])
        assert old_kid == header_kid(tokens["id_token"])

        # Rotate the keys with the management command (run on A's host).
        assert a.manage("rotate_keys", "--prepublish").returncode == 0
        activated = a.manage("rotate_keys", "--activate", "--force")
        assert activated.returncode == 0, activated.stderr
        rotated_at = time.monotonic()
        new_kid = re.search(r"Key (\S+) now signs", activated.stdout).group(1)

        # Each instance counts what it served: B issued one code exchange and one refresh.
        metrics_b = requests.get(f"http://127.0.0.1:{ports['b'][2]}/metrics", timeout=10).text
        assert (
            'idp_bridge_token_requests_total{grant_type="authorization_code",outcome="issued"} 1.0'
            in metrics_b
        )
        assert 'idp_bridge_token_requests_total{grant_type="refresh_token",outcome="issued"} 1.0' in metrics_b

        # The backup and restore drill of docs/operations.md, on what the two instances wrote.
        restore_drill(tmp_path, database, a.env, expected_kids=[new_kid, old_kid], sub=claims["sub"])

        # B serves the new JWKS, the new key first, and signs the next ID tokens with it: at once in
        # a worker that had not read the keys yet, within the key cache time in one that had.
        deadline = rotated_at + getattr(keys, "KEY_CACHE_SECONDS", 0) + 10
        jwks_b = poll(deadline, lambda: requests.get(f"{url['b']}/jwks", verify=cert, timeout=10).json(),
                      lambda jwks: jwks["keys"][0]["kid"] == new_kid)  # fmt: skip
        assert [key["kid"] for key in jwks_b["keys"]][:2] == [new_kid, old_kid]  # the old one still published
        refresh_token = refreshed.json()["refresh_token"]

        def refresh_at_b() -> dict:
            nonlocal refresh_token
            answer = requests.post(
                f"{url['b']}/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=client_auth,
                verify=cert,
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            refresh_token = answer.json()["refresh_token"]
            return answer.json()

        newest = poll(deadline, refresh_at_b, lambda answer: header_kid(answer["id_token"]) == new_kid)
        assert verified_claims(newest["id_token"], jwks_b)["sub"] == claims["sub"]

        # The first refresh token, used at B long ago, is a replay at A: refused (the family too).
        replay = requests.post(
            f"{url['a']}/token",
            data={"grant_type": "refresh_token", "refresh_token": first_refresh},
            auth=client_auth,
            verify=cert,
            timeout=10,
        )
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

        for instance in (a, b):
            assert instance.stop() == 0, instance.log[-3000:]


def poll(deadline: float, fetch, done):
    """``fetch()`` until ``done(answer)``; fails the test at ``deadline`` (monotonic)."""
    while True:
        answer = fetch()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"still {answer!r:.300} at the deadline"
        time.sleep(0.5)


TRANSIENT = [
    "oidc_accesstoken",
    "oidc_refreshtoken",
    "oidc_idtoken",
    "oidc_grant",
    "django_session",
    "idp_bridge_cache",
]
READINESS = (
    "import json; from idp_bridge.health import readiness; "
    "print(json.dumps({name: r.ok for name, r in readiness().items()}))"
)


def restore_drill(
    tmp_path, database: str, env: dict[str, str], *, expected_kids: list[str], sub: str
) -> None:
    dump = tmp_path / "bridge.dump"
    excluded = [f"--exclude-table-data={table}" for table in TRANSIENT]
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={dump}", *excluded, database], check=True, timeout=60
    )
    with throwaway_postgres_database() as restored:
        subprocess.run(["pg_restore", "--no-owner", "-d", restored, str(dump)], check=True, timeout=60)
        env = env | {"DATABASE_URL": restored}
        listed = manage(env, "rotate_keys")
        assert listed.returncode == 0, listed.stderr
        assert re.findall(r"^\s+\w+\s+(\S+)", listed.stdout, re.M) == expected_kids
        ready = manage(env, "shell", "-c", READINESS)
        assert json.loads(ready.stdout.splitlines()[-1])["signing_keys"] is True, ready.stderr
        wrong = manage(
            env | {"BRIDGE_KEY_ENCRYPTION_SECRET": "not-the-secret-" + "x" * 30}, "shell", "-c", READINESS
        )
        assert json.loads(wrong.stdout.splitlines()[-1])["signing_keys"] is False
        with psycopg.connect(restored) as db:
            assert (
                db.execute("SELECT count(*) FROM oidc_refreshtoken").fetchone()[0] == 0
            )  # users sign in again
            assert db.execute("SELECT count(*) FROM oidc_application").fetchone()[0] == 1
            assert db.execute("SELECT sub FROM accounts_subject").fetchall() == [(sub,)]  # sub survives
            assert db.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] >= 1
