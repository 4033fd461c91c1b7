"""Liveness and readiness, as a load balancer sees them: by IP, over plain http, within a bound."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import wait

import pytest
from django.db import OperationalError

from accounts.legacy import reset_user_source
from idp_bridge import health


@pytest.fixture(autouse=True)
def _no_probe_left_running() -> Iterator[None]:
    yield
    _, still_running = wait(list(health._running.values()), timeout=30)
    assert not still_running, "a readiness probe is still running after its test"


class SilentServer:
    """Accepts TCP connections and never says a word: a database that hangs."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:  # the hanging client now sees the connection end
            conn.close()


def probe_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("idp-bridge-readyz"))


def test_liveness_answers_by_ip_over_http_without_any_database(client, settings):
    # No database fixture: any query would fail the test.
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"
    assert client.head("/healthz", HTTP_HOST="10.1.2.3").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_ready_when_every_check_passes(client, portal, settings):
    from oidc.keys import ensure_active_key

    settings.SECURE_SSL_REDIRECT = True
    kid = ensure_active_key().kid
    response = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"bridge_database", "legacy_database", "signing_keys"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["signing_keys"]["detail"] == f"active key {kid} decrypts"


@pytest.mark.django_db(transaction=True)
def test_a_fresh_database_without_keys_is_ready(client, portal):
    from oidc.models import SigningKey

    SigningKey.objects.all().delete()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "first JWKS or token request" in response.json()["checks"]["signing_keys"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_key_that_cannot_be_decrypted_is_not_ready(client, portal):
    from oidc.models import SigningKey

    SigningKey.objects.create(
        kid="restored-with-the-wrong-secret",
        state=SigningKey.State.ACTIVE,
        private_key_encrypted="gAAAAA-not-what-this-secret-encrypted",
        public_jwk={},
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    signing = response.json()["checks"]["signing_keys"]
    assert signing["ok"] is False and "BRIDGE_KEY_ENCRYPTION_SECRET" in signing["detail"]
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_a_bridge_database_failure_is_not_ready(client, portal, monkeypatch):
    def broken() -> str:
        raise OperationalError("connection to server at 10.0.0.5 failed: password authentication failed")

    monkeypatch.setitem(health.CHECKS, "bridge_database", health.Check(broken, lambda: True))
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["bridge_database"]
    assert check == {**check, "ok": False, "detail": "failed (OperationalError)"}
    assert b"10.0.0.5" not in response.content  # the driver's message goes to the log only


@pytest.mark.django_db(transaction=True)
def test_a_legacy_outage_is_degraded_not_down_unless_configured(client, settings):
    settings.LEGACY_DATABASE_URL = "postgresql://reader@127.0.0.1:1/portal"
    reset_user_source()
    try:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        legacy = response.json()["checks"]["legacy_database"]
        assert legacy == {**legacy, "ok": False, "required": False}
        assert "127.0.0.1:1" not in response.content.decode()

        settings.BRIDGE_READY_REQUIRES_LEGACY = True
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["status"] == "unavailable"
    finally:
        reset_user_source()


@pytest.mark.django_db(transaction=True)
def test_a_hanging_legacy_database_cannot_hang_the_probe(client, settings):
    silent = SilentServer()
    settings.LEGACY_DATABASE_URL = f"postgresql://reader@127.0.0.1:{silent.port}/portal"
    settings.LEGACY_CONNECT_TIMEOUT = 60
    settings.BRIDGE_READINESS_TIMEOUT = 0.5
    reset_user_source()
    try:
        for _ in range(3):  # a load balancer probing again and again
            started = time.monotonic()
            response = client.get("/readyz")
            assert time.monotonic() - started < 1.5
            assert response.status_code == 200
            assert response.json()["checks"]["legacy_database"]["ok"] is False
            assert "no answer within" in response.json()["checks"]["legacy_database"]["detail"]
        # One attempt hangs; the probes after it wait on that one instead of piling up threads.
        assert len(silent.accepted) == 1
        assert probe_threads() <= len(health.CHECKS)
    finally:
        silent.close()
        reset_user_source()
