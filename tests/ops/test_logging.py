"""Logs campus IT can ship to their log store: JSON lines, a request id on each, no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from idp_bridge.logs import JsonFormatter, RedactSecrets, RequestIdFilter, redact

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything the bridge logs during the test, through the production JSON handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_response_carries_a_request_id(client):
    generated = client.get("/jwks")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/jwks")["X-Request-ID"] != generated
    assert client.get("/jwks", HTTP_X_REQUEST_ID="lb-7f3a.42")["X-Request-ID"] == "lb-7f3a.42"


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 200, "new\nline", "<script>", ""])
def test_an_insane_request_id_is_replaced(client, incoming):
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/jwks", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"])


def test_access_log_is_one_json_line_per_request_without_the_query_string(client, json_lines):
    response = client.get("/jwks?access_token=leaked-token-value", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    access = [e for e in entries(json_lines) if e["logger"] == "idp_bridge.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-123"
    assert line | {"method": "GET", "path": "/jwks", "status": 200, "remote_addr": "127.0.0.1"} == line
    assert isinstance(line["duration_ms"], float) and line["level"] == "INFO"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])
    assert "leaked-token-value" not in json_lines.getvalue()


def test_every_line_written_during_a_request_has_its_id(client, portal, json_lines):
    portal.add_user("ada", "right password")
    client.post("/login", {"login": "ada", "password": "not it"}, HTTP_X_REQUEST_ID="login-1")
    lines = entries(json_lines)
    login = [e for e in lines if e["logger"] == "idp_bridge.login"]
    assert login and all(e["request_id"] == "login-1" for e in login)
    assert "not it" not in json_lines.getvalue()
    logging.getLogger("idp_bridge.test").warning("outside any request")
    assert entries(json_lines)[-1]["request_id"] == "-"


def test_health_probes_stay_out_of_the_access_log(client, json_lines):
    client.get("/healthz")
    client.get("/metrics")
    assert not [e for e in entries(json_lines) if e["logger"] == "idp_bridge.access"]


def test_client_addresses_come_from_trusted_proxies_only(client, json_lines, settings):
    import ipaddress

    settings.BRIDGE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    forwarded = "198.51.100.1, 203.0.113.7, 10.0.0.9"  # a client's invention, the client, proxies
    client.get("/jwks", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    client.get("/jwks", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="198.51.100.1")
    access = [e["remote_addr"] for e in entries(json_lines) if e["logger"] == "idp_bridge.access"]
    assert access == ["203.0.113.7", "192.0.2.50"]


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("Authorization: Bearer 2YotnFZFEjr1zCsicMWpAA", "2YotnFZFEjr1zCsicMWpAA"),
        ("retrying with Basic dGVzdC1ycDpzZWNyZXQ=", "dGVzdC1ycDpzZWNyZXQ="),
        (
            "POST body: grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
            "tGzv3JOkF0XG5Qx2TlKWIA",
        ),
        ("form: login=ada&password=hunter2&next=/", "hunter2"),
        ("client_secret=s3cr3t-value sent", "s3cr3t-value"),
        ('{"client_secret": "abc123def", "client_id": "rp"}', "abc123def"),
        ("redirect to /cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz", "SplxlOBeZQQYbYS6WxSbIA"),
        ("hint eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJzdWIiOiIxIn0"),
        ("code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "dBjftJeZ4CVP"),
    ],
)
def test_secrets_are_redacted_from_any_message(message, secret):
    cleaned = redact(message)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_ordinary_words_are_left_alone():
    text = 'status code: 500, token_type="Bearer", the password field, client_id=rp'
    assert redact(text) == text


def test_redaction_covers_arguments_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed with %s", ("password=hunter2",), None)
    try:
        raise ValueError("client_secret=topsecret rejected")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record) is True
    formatted = JsonFormatter().format(record)
    assert "hunter2" not in formatted and "topsecret" not in formatted
    assert json.loads(formatted)["message"] == "failed with password=[redacted]"
