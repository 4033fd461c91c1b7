"""`manage.py federation_check` against a live bridge: PASS on a good setup, FAIL with the fix on broken ones."""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from oidc.clients import GLOBUS_CALLBACK, ClientRegistration, register_client
from oidc.models import SigningKey
from tests.conftest import Client, Portal
from tests.e2e.support import HTTP_TIMEOUT, PASSWORD, RP, Bridge, Browser
from tests.ops.stack import free_port

pytestmark = pytest.mark.e2e

GLOBUS_SECRET = "globus-test-secret-" + "g" * 40
ROOT = Path(__file__).resolve().parents[2]


def federation_check(*args: str) -> tuple[int, dict[str, Any]]:
    """Run the command with --json; its exit status and report."""
    out = io.StringIO()
    try:
        call_command("federation_check", "--json", *args, stdout=out)
        status = 0
    except CommandError:
        status = 1
    return status, json.loads(out.getvalue())


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def register_globus(**overrides: Any) -> Client:
    values: dict[str, Any] = {"client_id": "globus", "client_secret": GLOBUS_SECRET} | overrides
    register_client(ClientRegistration.globus_preset(**values))
    return Client("globus", GLOBUS_SECRET, GLOBUS_CALLBACK, "")


@pytest.fixture
def alice(portal: Portal) -> str:
    portal.add_user("Alice.Smith", PASSWORD, email="alice@example.org", first_name="Alice", last_name="Smith")
    return "Alice.Smith"


def test_a_good_setup_passes_and_prints_the_claims_a_real_globus_sign_in_receives(
    bridge_url: str, db: None, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP
    metadata = requests.get(f"{bridge_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT).json()
    globus = RP(register_globus(), Bridge(bridge_url, metadata), "client_secret_basic")
    # Globus Auth's side of a sign-in: a confidential client, its callback, no PKCE.
    tokens = globus.sign_in(Browser(bridge_url), (alice, PASSWORD), "openid profile email", pkce=False)
    assert tokens.id_claims is not None
    userinfo = globus.userinfo(tokens.access_token).json()

    status, report = federation_check("--user", alice)

    assert status == 0, report
    assert report["ok"] is True
    assert {name: s for name, s in statuses(report).items() if s != "PASS"} == {"https issuer": "SKIP"}
    assert report["userinfo"] == userinfo
    assert report["userinfo"]["preferred_username"] == "alice.smith@portal.example.edu"
    assert report["id_token"]["sub"] == tokens.id_claims["sub"]
    assert set(report["id_token"]) == set(tokens.id_claims)  # the same claims, protocol ones included
    assert {k: report["id_token"][k] for k in ("iss", "aud", "acr", "amr")} == {
        k: tokens.id_claims[k] for k in ("iss", "aud", "acr", "amr")
    }
    assert tokens.user_claims() == report["userinfo"]
    assert tokens.id_claims["sub"] in check(report, "sub")["detail"]


def test_no_globus_client_fails_and_says_how_to_register_one(bridge_url: str, make_client: Any) -> None:
    make_client("some-other-rp")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 check\\(s\\) failed"):
        call_command("federation_check", stdout=out)

    lines = out.getvalue().splitlines()
    assert "PASS  discovery issuer: issuer is exactly " + bridge_url in lines
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed == [f"FAIL  Globus client: no client has Globus Auth's redirect URI {GLOBUS_CALLBACK}"]
    fix = lines[lines.index(failed[0]) + 1]
    assert fix == "      fix: manage.py register_client --preset globus --client-id globus --generate-secret"


def test_a_wrong_redirect_uri_names_the_client_and_the_fix_works(bridge_url: str, make_client: Any) -> None:
    make_client("globus", redirect_uri=GLOBUS_CALLBACK + "/")  # a trailing slash: Globus would be refused

    status, report = federation_check()

    assert status == 1
    failure = check(report, "Globus client")
    assert failure["status"] == "FAIL"
    assert f"client 'globus' has redirect URI(s) {GLOBUS_CALLBACK}/" in failure["detail"]
    assert failure["fix"] == "manage.py register_client --preset globus --client-id globus"

    call_command(*failure["fix"].split()[1:], stdout=io.StringIO())
    status, report = federation_check()
    assert status == 0
    assert check(report, "Globus client")["status"] == "PASS"


def test_a_public_client_on_the_globus_callback_fails(bridge_url: str, db: None) -> None:
    register_client(
        ClientRegistration(client_id="globus", name="Globus", redirect_uris=[GLOBUS_CALLBACK], public=True)
    )

    status, report = federation_check()

    assert status == 1
    failure = check(report, "Globus client")
    assert "not a confidential client with a secret" in failure["detail"]
    assert failure["fix"].endswith("--client-id globus --generate-secret")


def test_an_issuer_that_differs_from_the_discovery_url_fails(bridge_url: str, db: None) -> None:
    register_globus()
    other_name = bridge_url.replace("localhost", "127.0.0.1")  # the same server under another name
    assert other_name != bridge_url

    status, report = federation_check("--issuer", other_name)

    assert status == 1
    failure = check(report, "discovery issuer")
    assert failure["status"] == "FAIL"
    assert f"says issuer {bridge_url!r}" in failure["detail"]
    assert f"{bridge_url}/.well-known/openid-configuration" in failure["fix"]  # the URL to give Globus


def test_a_jwks_key_without_kid_fails_and_names_rotate_keys(bridge_url: str, db: None) -> None:
    register_globus()
    federation_check()  # creates the first signing key
    key = SigningKey.objects.get(state=SigningKey.State.ACTIVE)
    key.public_jwk = {k: v for k, v in key.public_jwk.items() if k != "kid"}
    key.save()  # the JWKS now serves the key without a kid

    status, report = federation_check()

    assert status == 1
    failure = check(report, "JWKS keys")
    assert failure["status"] == "FAIL"
    assert "key 1 (no kid): no kid" in failure["detail"]
    assert "rotate_keys --prepublish" in failure["fix"]
    assert check(report, "active key first")["status"] == "FAIL"


def test_a_rotation_passes_at_every_step_with_the_active_key_first(bridge_url: str, db: None) -> None:
    register_globus()
    federation_check()  # creates the first signing key
    call_command("rotate_keys", "--prepublish", stdout=io.StringIO())
    upcoming = SigningKey.objects.get(state=SigningKey.State.NEXT).kid

    status, report = federation_check()
    assert status == 0
    assert check(report, "JWKS keys")["detail"].startswith("2 RSA key(s)")
    assert upcoming not in check(report, "active key first")["detail"]

    call_command("rotate_keys", "--activate", "--force", stdout=io.StringIO())
    status, report = federation_check()
    assert status == 0
    assert check(report, "active key first")["detail"].endswith(upcoming)


@pytest.mark.parametrize(
    ("user", "failing", "detail", "fix"),
    [
        ("nobody", "user", "no legacy account answers to 'nobody'", "LEGACY_DATABASE_URL"),
        ("suspended", "account state", "is inactive", "Reactivate the account in the portal"),
        ("noemail", "claims Globus maps", "no email in the legacy row", "LEGACY_MAPPING"),
        ("has space", "preferred_username", "cannot be the user part", "Username override"),
    ],
)
def test_a_user_globus_could_not_use_fails_with_the_fix(
    bridge_url: str, db: None, portal: Portal, user: str, failing: str, detail: str, fix: str
) -> None:
    register_globus()
    portal.add_user("suspended", PASSWORD, status=0)
    portal.add_user("noemail", PASSWORD, email="")
    portal.add_user("has space", PASSWORD)

    status, report = federation_check("--user", user)

    assert status == 1
    assert [c["name"] for c in report["checks"] if c["status"] == "FAIL"] == [failing]
    assert detail in check(report, failing)["detail"]
    assert fix in check(report, failing)["fix"]


def test_a_user_who_never_signed_in_is_shown_without_minting_a_sub(
    bridge_url: str, db: None, alice: str
) -> None:
    from accounts.models import Subject

    register_globus()

    status, report = federation_check("--user", alice)

    assert status == 0
    assert check(report, "sub")["status"] == "SKIP"
    assert report["userinfo"]["sub"] == "(minted at the first sign-in)"
    assert not Subject.objects.exists()  # the check reads; only a real sign-in mints a sub


@pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgres",
    reason="the demo has its own SQLite database: the SQLite pass runs the same test",
)
def test_the_make_run_demo_passes_everything_that_does_not_need_https(tmp_path: Path) -> None:
    """`make run` step by step (demo_env, migrate, demo_setup, runserver), then the check from outside."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "LEGACY_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "idp_bridge.demo_env", str(tmp_path / "demo.env"), str(port)],
        check=True,
        cwd=ROOT,
    )
    for line in (tmp_path / "demo.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = shlex.split(value)[0]

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "--noinput", "-v0", "--skip-checks").returncode == 0
    setup = manage("demo_setup", "--skip-checks")
    assert f"Globus client:  client_id=globus  redirect_uri={GLOBUS_CALLBACK}" in setup.stdout, setup.stderr
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
        result = manage("federation_check", "--user", "alice", "--json")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {name: s for name, s in statuses(report).items() if s != "PASS"} == {
        "https issuer": "SKIP",
        "sub": "SKIP",  # alice has not signed in yet
    }
    assert report["id_token"]["aud"] == "globus"
    assert report["userinfo"]["preferred_username"] == "alice@demo.example.edu"


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


@pytest.mark.parametrize(
    ("issuer", "status"),
    [
        ("https://idp.example.edu", "PASS"),
        ("https://localhost:8443", "SKIP"),  # `make serve`: https, but Globus cannot reach loopback
        ("http://127.0.0.1:8000", "SKIP"),  # `make run`
    ],
)
def test_only_a_reachable_https_issuer_passes_the_https_check(issuer: str, status: str) -> None:
    from oidc.federation import check_https

    result = check_https(issuer)

    assert result.status == status
    assert result.status == "PASS" or "Globus Auth" in result.detail
