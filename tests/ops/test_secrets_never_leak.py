"""No secret ever reaches a log record, the audit trail or a page: full flows, every logger at DEBUG.

Every record any logger creates (django.request, django.db.backends, oauthlib, oauth2_provider,
the bridge's own, ...) is captured raw, before any handler or redaction filter, with its arguments,
extra fields and traceback. Together with every audit event and every response body of a full run
(wrong and right password, consent, code exchange, refresh, userinfo, introspection, revocation,
logout, admin login, a failed client authentication, error pages), none may contain a password,
token, authorization code, client secret, password hash or signing-key material. The one place a
token may appear is the token response that issues it (and a code in the redirect that delivers
it). At rest: client secrets hashed, tokens stored as checksums only, private keys encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import logging.config
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from idp_bridge.logs import logging_config
from oidc import keys
from oidc.models import AccessToken, Application, Grant, RefreshToken, SigningKey
from tests.conftest import TEST_RP_SECRET

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-" + secrets.token_hex(6)
WRONG_PASSWORD = "Wrong-Horse-" + secrets.token_hex(6)
ADMIN_PASSWORD = "Admin-Pass-" + secrets.token_hex(6)
WRONG_CLIENT_SECRET = "wrong-client-secret-" + secrets.token_hex(8)


@dataclass
class LogCapture:
    """Raw records from every logger forced to DEBUG, and the lines the bridge's own logging
    configuration writes at BRIDGE_LOG_LEVEL=DEBUG (its level pins and redaction applied)."""

    records: list[logging.LogRecord] = field(default_factory=list)
    written: io.StringIO = field(default_factory=io.StringIO)
    active: bool = False


@pytest.fixture
def logs(monkeypatch) -> Iterator[LogCapture]:
    capture = LogCapture()
    logging.config.dictConfig(logging_config("plain", "DEBUG"))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(capture.written)
    configured = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    configured[""] = logging.getLogger().level

    def production_level(logger: logging.Logger) -> int:
        node: logging.Logger | None = logger
        while node is not None:
            level = configured.get("" if node is logging.getLogger() else node.name, 0)
            if level:
                return level
            node = node.parent
        return logging.WARNING

    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        if capture.active:
            capture.records.append(record)
        if record.levelno >= production_level(self):
            original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    for name in [*configured, "oauthlib", "oauth2_provider", "django.request", "django.db.backends"]:
        logging.getLogger(name or None).setLevel(logging.DEBUG)
    logging.disable(logging.NOTSET)
    # SQL is logged only under DEBUG (never in production); log it here all the same, parameters
    # included, so that a secret sent to the database in clear shows up too.
    for alias in connections:
        connections[alias].force_debug_cursor = True
    yield capture
    for alias in connections:
        connections[alias].force_debug_cursor = False
    logging.config.dictConfig(settings.LOGGING)


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), repr(record.msg)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts += [repr(value) for key, value in vars(record).items() if key not in ("args", "msg", "exc_info")]
    return "\n".join(parts)


class Recorder:
    """A browser and a relying party whose every response body is kept (bar the token deliveries)."""

    def __init__(self) -> None:
        self.browser = Client()
        self.bodies: list[str] = []

    def keep(self, response: Any) -> Any:
        self.bodies.append(response.content.decode("utf-8", "replace"))
        self.bodies.append(json.dumps({k: v for k, v in response.items() if k != "Location"}))
        return response


def basic(secret: str = TEST_RP_SECRET) -> str:
    return "Basic " + base64.b64encode(f"test-rp:{secret}".encode()).decode()


def private_key_material() -> list[str]:
    """Every private parameter of every signing key, and the PEM body, as the bridge holds them."""
    material = []
    for row in SigningKey.objects.all():
        key = keys._decrypt(row)
        private = json.loads(key.export_private())
        material += [private[name] for name in ("d", "p", "q", "dp", "dq", "qi")]
        pem = key.export_to_pem(private_key=True, password=None).decode()
        material += [line for line in pem.splitlines() if line and not line.startswith("-----")][:3]
    return material


def test_no_secret_in_logs_audit_or_pages(logs, portal, make_client, settings):
    uid = portal.add_user("ajones", PASSWORD)
    rp = make_client()  # not trusted: the consent page is part of the run
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", ADMIN_PASSWORD)
    logs.active = True  # from here on: the setup above wrote hashes to the database on purpose
    r = Recorder()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = (
        reverse("oidc:authorize")
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": rp.client_id,
                "redirect_uri": rp.redirect_uri,
                "scope": "openid profile email",
                "state": "st",
                "nonce": "n",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )

    # Sign in: a wrong password first, then the right one; consent; the code.
    r.keep(r.browser.get(authorize))
    r.keep(
        r.browser.post(
            reverse("accounts:login"), {"login": "ajones", "password": WRONG_PASSWORD, "next": authorize}
        )
    )
    r.keep(
        r.browser.post(
            reverse("accounts:login"), {"login": "nobody", "password": WRONG_PASSWORD, "next": authorize}
        )
    )
    logged_in = r.keep(
        r.browser.post(
            reverse("accounts:login"), {"login": "ajones", "password": PASSWORD, "next": authorize}
        )
    )
    consent_page = r.keep(r.browser.get(logged_in["Location"]))
    pending = consent_page.content.decode().split('name="pending" value="', 1)[1].split('"', 1)[0]
    callback = r.keep(r.browser.post(reverse("oidc:authorize"), {"pending": pending, "allow": "1"}))
    code = parse_qs(urlsplit(callback["Location"]).query)["code"][0]
    assert callback["Location"].startswith(rp.redirect_uri)

    # The relying party: a failed client authentication, the exchange, refresh, userinfo, ...
    token_url = reverse("oidc:token")
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    r.keep(r.browser.post(token_url, exchange, HTTP_AUTHORIZATION=basic(WRONG_CLIENT_SECRET)))
    first = r.browser.post(token_url, exchange, HTTP_AUTHORIZATION=basic())
    assert first.status_code == 200, first.content.decode()
    tokens = first.json()
    refreshed_response = r.browser.post(
        token_url,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(),
    )
    assert refreshed_response.status_code == 200
    refreshed = refreshed_response.json()
    r.keep(
        r.browser.post(
            token_url,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            HTTP_AUTHORIZATION=basic(),
        )
    )
    r.keep(r.browser.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}"))
    r.keep(r.browser.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"))
    r.keep(
        r.browser.post(
            reverse("oidc:introspect"), {"token": refreshed["access_token"]}, HTTP_AUTHORIZATION=basic()
        )
    )
    r.keep(
        r.browser.post(
            reverse("oidc:introspect"),
            {"token": refreshed["refresh_token"]},
            HTTP_AUTHORIZATION=basic(WRONG_CLIENT_SECRET),
        )
    )
    r.keep(
        r.browser.post(
            reverse("oidc:revoke"), {"token": refreshed["refresh_token"]}, HTTP_AUTHORIZATION=basic()
        )
    )
    r.keep(r.browser.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}"))
    r.keep(
        r.browser.get(
            reverse("oidc:logout"),
            {"id_token_hint": refreshed["id_token"], "post_logout_redirect_uri": rp.post_logout_redirect_uri},
        )
    )
    r.keep(
        r.browser.post(
            reverse("oidc:logout"),
            {
                "id_token_hint": refreshed["id_token"],
                "post_logout_redirect_uri": rp.post_logout_redirect_uri,
                "allow": "1",
            },
        )
    )

    r.keep(r.browser.post(token_url, exchange, HTTP_AUTHORIZATION=basic()))  # a replayed code: refused

    # The admin site: a wrong password, then the right one.
    staff = Recorder()
    staff.keep(
        staff.browser.post(
            "/admin/login/", {"username": "admin", "password": WRONG_PASSWORD, "next": "/admin/"}
        )
    )
    staff.keep(
        staff.browser.post(
            "/admin/login/", {"username": "admin", "password": ADMIN_PASSWORD, "next": "/admin/"}
        )
    )
    staff.keep(staff.browser.get("/admin/oidc/application/"))
    staff.keep(staff.browser.get(f"/admin/oidc/application/{Application.objects.get().pk}/change/"))

    legacy_hash = portal_hash(portal, uid)
    forbidden = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "admin password": ADMIN_PASSWORD,
        "client secret": TEST_RP_SECRET,
        "wrong client secret": WRONG_CLIENT_SECRET,
        "authorization code": code,
        "PKCE verifier": verifier,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "refreshed access token": refreshed["access_token"],
        "refreshed refresh token": refreshed["refresh_token"],
        "legacy password hash": legacy_hash,
        "legacy hash digest": legacy_hash[-31:],
        "admin password hash": admin.password,
        "admin hash digest": admin.password.rsplit("$", 1)[-1],
        "stored client secret": Application.objects.get().client_secret,
        "key encryption secret": settings.BRIDGE_KEY_ENCRYPTION_SECRET,
        "Django secret key": settings.SECRET_KEY,
    }
    for number, material in enumerate(private_key_material()):
        forbidden[f"signing key material #{number}"] = material

    raw = logs.records
    assert len(raw) > 50, "the log capture saw too little to mean anything"
    for name in ("oauthlib", "oauth2_provider", "django.request", "django.db.backends", "idp_bridge.login"):
        assert any(record.name.startswith(name) for record in raw), name
    written = logs.written.getvalue()
    assert "login failed" in written
    audit = "\n".join(json.dumps(row, default=str) for row in AuditEvent.objects.values())
    assert AuditEvent.objects.filter(event="login.failed").exists()
    pages = "\n".join(r.bodies + staff.bodies)
    # DOT shows a client's *stored* secret (a salted HMAC of a 32+ character random secret) to
    # staff on the admin's client page; nowhere else.
    admin_pages = "\n".join(staff.bodies[2:])
    where = {"written log": written, "audit trail": audit, "responses": pages.replace(admin_pages, "")}
    leaks = [
        f"{name} in the {place}"
        for name, value in forbidden.items()
        for place, text in where.items()
        if value in text
    ]
    leaks += [
        f"{name} on the admin pages"
        for name, value in forbidden.items()
        if value in admin_pages and name != "stored client secret"
    ]
    # Raw records, every logger at DEBUG: oauthlib's DEBUG lines and the SQL log carry codes and
    # tokens in clear, which is why the configuration silences both (checked below); nothing
    # else may hold any secret.
    silenced = ("oauthlib", "django.db.backends")
    leaks += [
        f"{name} in a {record.name} record: {record_text(record)[:200]}"
        for record in raw
        for name, value in forbidden.items()
        if value in record_text(record) and not record.name.startswith(silenced)
    ]
    never_even_raw = (
        "password",
        "wrong password",
        "admin password",
        "client secret",
        "wrong client secret",
        "key encryption secret",
        "Django secret key",
        "legacy password hash",
    )
    leaks += [
        f"{name} in a raw {record.name} record"
        for record in raw
        for name in never_even_raw
        if forbidden[name] in record_text(record)
    ]
    leaks += [
        f"signing key material in a raw {record.name} record"
        for record in raw
        for name, value in forbidden.items()
        if name.startswith("signing key") and value in record_text(record)
    ]
    assert not leaks, "\n".join(dict.fromkeys(leaks))
    config = logging_config("plain", "DEBUG")["loggers"]
    assert config["oauthlib"]["level"] == "INFO" and config["django.db.backends"]["level"] == "WARNING"


def portal_hash(portal: Any, uid: int) -> str:
    import sqlite3

    with sqlite3.connect(portal.url.removeprefix("sqlite:///")) as db:
        return str(db.execute("SELECT pass_hash FROM portal_users WHERE uid = ?", (uid,)).fetchone()[0])


def test_secrets_at_rest_are_hashed_checksummed_or_encrypted(client, portal, make_client):
    from tests.oidc.test_flow import sign_in_and_get_tokens

    portal.add_user("ajones", "correct horse")
    rp = make_client(trusted=True)
    tokens = sign_in_and_get_tokens(client, rp)

    stored_secret = Application.objects.get(client_id=rp.client_id).client_secret
    assert stored_secret.startswith("client_secret_hmac$") and TEST_RP_SECRET not in stored_secret

    for model, raw in ((AccessToken, tokens["access_token"]), (RefreshToken, tokens["refresh_token"])):
        row = model.objects.get(token_checksum=hashlib.sha256(raw.encode()).hexdigest())
        assert row.token == "", f"{model.__name__} stored in clear"
        assert not model.objects.exclude(token="").exists()

    for row in SigningKey.objects.all():
        assert "PRIVATE KEY" not in row.private_key_encrypted
        assert set(row.public_jwk) <= {"kty", "n", "e", "kid", "use", "alg"}, row.public_jwk
        material = json.loads(keys._decrypt(row).export_private())
        assert material["d"] not in row.private_key_encrypted

    # Codes are single-use and expire in AUTHORIZATION_CODE_EXPIRE_SECONDS; once used, gone.
    assert not Grant.objects.exists()
