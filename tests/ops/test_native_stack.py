"""The production entry point, run natively: nginx terminating TLS in front of gunicorn, on loopback.

What campus IT does on a server, done by the test: start ``bin/entrypoint`` with ``BRIDGE_PROXY=nginx``
on an empty bridge database (PostgreSQL in the PostgreSQL pass, SQLite in the other) while the
portal's database is still missing, watch it come up, serve the issuer over https, report the
legacy outage as "degraded", recover when the portal database appears, count logins across both
gunicorn workers, log JSON lines without secrets, and stop cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
import requests

from accounts.legacy.demo import DEMO_USERS, create_demo_database
from tests.e2e.support import Page
from tests.ops.stack import (
    bridge_environment,
    free_port,
    nginx_binary,
    port_open,
    running,
    throwaway_postgres_database,
)

pytestmark = pytest.mark.e2e

SAMPLE = re.compile(
    r'^idp_bridge_logins_total\{outcome="failed",reason="mismatch",scheme="([^"]+)"\} (\S+)$', re.M
)


def _bridge_database(stack):
    if os.environ.get("TEST_DATABASE") == "postgres":
        return stack.enter_context(throwaway_postgres_database())
    return None


def failed_logins(metrics_text: str) -> float:
    return sum(float(value) for _, value in SAMPLE.findall(metrics_text))


def test_entrypoint_serves_the_issuer_over_tls_and_stops_cleanly(tmp_path):
    from contextlib import ExitStack

    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    https, http, upstream = free_port(), free_port(), free_port()
    issuer = f"https://localhost:{https}"
    portal = tmp_path / "portal.db"  # not there yet: the portal database is "down" at start
    with ExitStack() as stack:
        database = _bridge_database(stack)
        env = bridge_environment(
            tmp_path / "state",
            BRIDGE_ISSUER=issuer,
            LEGACY_DATABASE_URL=f"sqlite:///{portal}",
            BRIDGE_PROXY="nginx",
            BRIDGE_PROXY_LISTEN=f"127.0.0.1:{https}",
            BRIDGE_PROXY_HTTP_LISTEN=f"127.0.0.1:{http}",
            BIND=f"127.0.0.1:{upstream}",
            BRIDGE_BEHIND_PROXY="true",
            BRIDGE_TRUSTED_PROXIES="127.0.0.1",
            BRIDGE_READINESS_TIMEOUT="2",
            **({"DATABASE_URL": database} if database else {}),
        )
        bridge = stack.enter_context(running("native", env, tmp_path))
        cert = str(tmp_path / "state" / "tls" / "cert.pem")
        bridge.wait_until_serving(f"http://127.0.0.1:{upstream}/healthz")
        bridge.wait_until_serving(f"{issuer}/healthz", verify=cert)
        start_log = bridge.log
        assert "check --deploy" in start_log and "migrating the bridge database" in start_log
        assert "accounts.W001" in start_log  # the legacy outage is reported, and did not stop the start

        # The issuer over TLS, verified against the certificate the entrypoint made.
        discovery = requests.get(
            f"{issuer}/.well-known/openid-configuration",
            verify=cert,
            headers={"X-Request-ID": "lb-probe-0001"},
            timeout=10,
        )
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == issuer
        assert discovery.json()["token_endpoint"] == f"{issuer}/token"
        assert discovery.headers["Strict-Transport-Security"].startswith("max-age=")
        assert discovery.headers["X-Request-ID"] == "lb-probe-0001"  # through nginx and back
        assert requests.get(f"{issuer}/jwks", verify=cert, timeout=10).json()["keys"]

        # Plain http on the proxy: a redirect to the issuer, path and query kept.
        redirect = requests.get(f"http://127.0.0.1:{http}/jwks?x=1", allow_redirects=False, timeout=10)
        assert redirect.status_code == 301 and redirect.headers["Location"] == f"{issuer}/jwks?x=1"

        # Readiness: the portal database is missing, so "degraded" (200), naming the check.
        ready = requests.get(f"{issuer}/readyz", verify=cert, timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["legacy_database"]["ok"] is False
        assert ready.json()["checks"]["bridge_database"]["ok"] is True
        assert ready.json()["checks"]["signing_keys"]["ok"] is True
        assert str(portal) not in ready.text  # where the database lives is for the log only

        create_demo_database(portal)  # the portal database is back
        deadline = time.monotonic() + 20
        while requests.get(f"{issuer}/readyz", verify=cert, timeout=10).json()["status"] != "ready":
            assert time.monotonic() < deadline, "readiness did not recover after the portal database returned"
            time.sleep(0.5)

        # Metrics: not through the public proxy; on the bridge's own port from loopback.
        assert requests.get(f"{issuer}/metrics", verify=cert, timeout=10).status_code == 404

        # Four wrong passwords and one right one, through TLS, as a browser would.
        alice = next(user for user in DEMO_USERS if user.username == "alice")
        browser = requests.Session()  # (verify per request: REQUESTS_CA_BUNDLE would override the session's)
        for attempt in range(5):
            page = Page.parse(browser.get(f"{issuer}/login", verify=cert, timeout=10))
            fields = page.form("/login").fields()
            fields |= {"login": "alice", "password": alice.password if attempt == 4 else f"wrong-{attempt}"}
            answer = browser.post(
                f"{issuer}/login",
                data=fields,
                headers={"Referer": f"{issuer}/login", "X-Request-ID": f"login-attempt-{attempt}"},
                allow_redirects=False,
                verify=cert,
                timeout=10,
            )
            assert answer.status_code == (303 if attempt == 4 else 200), bridge.log[-5000:]
        # Two gunicorn workers answered those; every scrape adds both up (multiprocess mode).
        scrapes = [requests.get(f"http://127.0.0.1:{upstream}/metrics", timeout=10).text for _ in range(6)]
        assert {failed_logins(text) for text in scrapes} == {4.0}, scrapes[0][:3000]
        assert SAMPLE.search(scrapes[0]).group(1) == "bcrypt"
        assert re.search(
            r'^idp_bridge_logins_total\{outcome="succeeded",reason="ok",scheme="bcrypt"\} 1\.0$',
            scrapes[0],
            re.M,
        )
        assert re.search(r"^idp_bridge_lockouts_total 0\.0$", scrapes[0], re.M)
        assert re.search(r'^idp_bridge_legacy_query_seconds_count\{outcome="ok"\} [1-9]', scrapes[0], re.M)
        assert re.search(r'^idp_bridge_signing_keys\{state="active"\} 1\.0$', scrapes[0], re.M)

        # Logs: JSON lines, one request id per request, the same one nginx logged; no password.
        log = bridge.log
        bridge_lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        access = [e for e in bridge_lines if e["logger"] == "idp_bridge.access"]
        logins = [e for e in access if e.get("path") == "/login" and e.get("method") == "POST"]
        assert [e["request_id"] for e in logins] == [f"login-attempt-{n}" for n in range(5)]
        assert all(e["remote_addr"] == "127.0.0.1" and e["status"] in (200, 303) for e in logins)
        assert "rid=login-attempt-4" in log  # nginx's access log line for the same request
        assert alice.password not in log and "wrong-0" not in log

        # SIGTERM (systemd stop, docker stop): both servers end, the ports close, status 0.
        assert bridge.stop() == 0, bridge.log[-3000:]
        assert not port_open(https) and not port_open(upstream)
