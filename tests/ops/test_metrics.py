"""/metrics: what a monitoring team scrapes, and who may scrape it.

Counters are process-wide and never reset, so every test compares before and after.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client import REGISTRY

import audit
from accounts.legacy import reset_user_source
from tests.conftest import TEST_RP_SECRET
from tests.oidc.test_flow import basic, sign_in_and_get_tokens

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **extra: str) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert match, f"{series} is not in the scrape"
    return float(match.group(1))


def login(client: Client, name: str, password: str) -> int:
    return client.post(reverse("accounts:login"), {"login": name, "password": password}).status_code


def test_logins_are_counted_by_outcome_reason_and_hash_scheme(client, portal):
    portal.add_user("ada", "right password", scheme="bcrypt")
    portal.add_user("grace", "her password", scheme="phpass")
    keys = {
        "wrong": {"outcome": "failed", "reason": "mismatch", "scheme": "bcrypt"},
        "ok": {"outcome": "succeeded", "reason": "ok", "scheme": "phpass"},
        "unknown": {"outcome": "failed", "reason": "unknown_user", "scheme": "none"},
    }
    before = {k: sample("idp_bridge_logins_total", **labels) for k, labels in keys.items()}
    queries = sample("idp_bridge_legacy_query_seconds_count", outcome="ok")

    assert login(client, "ada", "wrong password") == 200
    assert login(Client(), "ada", "wrong password") == 200
    assert login(client, "grace", "her password") == 303
    assert login(client, "nobody", "whatever") == 200

    after = {k: sample("idp_bridge_logins_total", **labels) for k, labels in keys.items()}
    assert {k: after[k] - before[k] for k in keys} == {"wrong": 2, "ok": 1, "unknown": 1}
    assert sample("idp_bridge_legacy_query_seconds_count", outcome="ok") - queries >= 4
    text = scrape(client)
    assert (
        value(text, 'idp_bridge_logins_total{outcome="failed",reason="mismatch",scheme="bcrypt"}')
        == after["wrong"]
    )
    assert "# TYPE idp_bridge_legacy_query_seconds histogram" in text


def test_logins_during_a_legacy_outage_are_counted_as_unavailable(client, portal, settings):
    before = sample(
        "idp_bridge_logins_total", outcome="unavailable", reason="legacy_unavailable", scheme="none"
    )
    errors = sample("idp_bridge_legacy_query_seconds_count", outcome="error")
    settings.LEGACY_DATABASE_URL = "postgresql://reader@127.0.0.1:1/portal"
    reset_user_source()
    try:
        assert login(client, "ada", "anything") == 503
    finally:
        reset_user_source()
    after = sample(
        "idp_bridge_logins_total", outcome="unavailable", reason="legacy_unavailable", scheme="none"
    )
    assert after - before == 1
    # The connection itself failed, so no query ran: the histogram counts only queries.
    assert sample("idp_bridge_legacy_query_seconds_count", outcome="error") == errors


def test_lockouts_are_exported_from_zero_and_counted_from_the_audit_trail(client):
    text = scrape(client)
    assert "idp_bridge_lockouts_total" in text  # there from the start, even at 0
    before = value(text, "idp_bridge_lockouts_total")
    audit.record("login.locked", reason="too_many_failures", legacy_id="42")
    assert value(scrape(client), "idp_bridge_lockouts_total") == before + 1


def test_label_values_stay_bounded(client):
    audit.record("login.failed", reason="a reason with spaces; DROP TABLE", scheme="x" * 200)
    assert sample("idp_bridge_logins_total", outcome="failed", reason="other", scheme="other") >= 1


def test_token_requests_are_counted_by_grant_type_and_outcome(client, portal, make_client):
    rp = make_client(trusted=True)
    portal.add_user("ajones", "correct horse")
    series = {
        "code": ("authorization_code", "issued"),
        "refresh": ("refresh_token", "issued"),
        "replay": ("refresh_token", "invalid_grant"),
        "password": ("other", "unsupported_grant_type"),
        "missing": ("missing", "invalid_request"),
    }

    def counts() -> dict[str, float]:
        return {
            k: sample("idp_bridge_token_requests_total", grant_type=g, outcome=o)
            for k, (g, o) in series.items()
        }

    before = counts()
    tokens = sign_in_and_get_tokens(client, rp)
    token_url = reverse("oidc:token")
    auth = {"HTTP_AUTHORIZATION": basic(rp.client_id)}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert client.post(token_url, refresh, **auth).status_code == 200
    assert client.post(token_url, refresh, **auth).status_code == 400  # the used refresh token again
    password_grant = {"grant_type": "password", "username": "ajones", "password": "correct horse"}
    assert client.post(token_url, password_grant, **auth).status_code == 400
    assert client.post(token_url, {}, **auth).status_code == 400
    after = counts()
    assert {k: after[k] - before[k] for k in series} == {k: 1 for k in series}
    assert TEST_RP_SECRET not in scrape(client)


def test_server_errors_are_counted_by_route(client, monkeypatch):
    def broken() -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr("oidc.discovery.document_bytes", broken)
    route = "/.well-known/openid-configuration"
    before = sample("idp_bridge_http_errors_total", route=route)
    responses = sample("idp_bridge_http_responses_total", route=route, status="500")
    failing = Client(raise_request_exception=False)
    assert failing.get(route).status_code == 500
    assert sample("idp_bridge_http_errors_total", route=route) == before + 1
    assert sample("idp_bridge_http_responses_total", route=route, status="500") == responses + 1
    # Routes are URL patterns, not paths: a client cannot mint new series with made-up URLs.
    failing.get("/no/such/page/12345")
    assert sample("idp_bridge_http_responses_total", route="(unrouted)", status="404") >= 1
    assert "12345" not in scrape(client)


def test_signing_key_state_is_exported(client):
    from datetime import timedelta

    from django.utils import timezone

    from oidc.keys import ensure_active_key, prepublish_next_key
    from oidc.models import SigningKey

    active = ensure_active_key()
    prepublish_next_key()
    # The first key is made when the test database is migrated, however long ago that was: pin its age.
    SigningKey.objects.filter(pk=active.pk).update(activated_at=timezone.now() - timedelta(minutes=10))
    text = scrape(client)
    assert value(text, 'idp_bridge_signing_keys{state="active"}') == 1
    assert value(text, 'idp_bridge_signing_keys{state="next"}') == 1
    assert value(text, 'idp_bridge_signing_keys{state="retiring"}') == 0
    assert 600 <= value(text, "idp_bridge_signing_key_active_age_seconds") < 660


def test_only_loopback_may_scrape_unless_configured(client):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    scrape(client, REMOTE_ADDR="::1")


def test_a_configured_network_may_scrape_and_no_other(client, settings):
    import ipaddress

    settings.BRIDGE_METRICS_ALLOW = [ipaddress.ip_network("10.20.30.0/24")]
    scrape(client, REMOTE_ADDR="10.20.30.40")
    assert client.get("/metrics", REMOTE_ADDR="10.20.31.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_a_bearer_token_opens_metrics_from_anywhere(client, settings):
    settings.BRIDGE_METRICS_TOKEN = "m" * 40
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer " + "n" * 40)
    assert wrong.status_code == 401
    scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer " + "m" * 40)
