"""The bridge's own database fails mid-request: a 503 that names nothing internal, never a 500.

Every query the request makes fails with the driver's OperationalError, wrapped as Django wraps it
(a Django execute wrapper, the documented instrumentation hook): what a request meets when the
database is unreachable, restarting, or the connection pool is exhausted.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.conftest import TEST_RP_SECRET

pytestmark = pytest.mark.django_db

SECRET_SQL = 'SELECT "oidc_application"."client_secret" FROM "oidc_application" -- at db.internal:5432'
LEAKS = ("Traceback", "SELECT", "oidc_application", "db.internal", "OperationalError", "psycopg", "sqlite")


@contextmanager
def database_down() -> Iterator[None]:
    driver_error = psycopg.OperationalError if connection.vendor == "postgresql" else sqlite3.OperationalError

    def fail(execute, sql, params, many, context):
        # What Django's wrap_database_errors makes of the driver's error (wrappers run outside it).
        cause = driver_error(f"server closed the connection unexpectedly: {SECRET_SQL}")
        raise OperationalError(*cause.args) from cause

    with connection.execute_wrapper(fail):
        yield


def basic() -> str:
    return "Basic " + base64.b64encode(f"test-rp:{TEST_RP_SECRET}".encode()).decode()


JSON_REQUESTS = [
    (
        "POST",
        "oidc:token",
        {"grant_type": "refresh_token", "refresh_token": "r" * 30},
        {"HTTP_AUTHORIZATION": basic()},
    ),
    ("GET", "oidc:userinfo", None, {"HTTP_AUTHORIZATION": "Bearer " + "a" * 30}),
    ("POST", "oidc:introspect", {"token": "a" * 30}, {"HTTP_AUTHORIZATION": basic()}),
    ("POST", "oidc:revoke", {"token": "a" * 30}, {"HTTP_AUTHORIZATION": basic()}),
]


@pytest.mark.parametrize(
    ("method", "name", "data", "headers"), JSON_REQUESTS, ids=[r[1] for r in JSON_REQUESTS]
)
def test_oauth_endpoints_answer_temporarily_unavailable(rp, method, name, data, headers):
    browser = Client(raise_request_exception=False)
    with database_down():
        response = browser.generic(
            method,
            reverse(name),
            "&".join(f"{k}={v}" for k, v in (data or {}).items()),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )
    assert response.status_code == 503
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "The service is temporarily unavailable; try again shortly.",
    }
    assert response["Retry-After"] == "30" and response["Cache-Control"] == "no-store"
    for leak in LEAKS:
        assert leak not in response.content.decode()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        (
            "GET",
            "/authorize?response_type=code&client_id=test-rp&redirect_uri=https%3A%2F%2Frp.example.org%2Fcallback&scope=openid",
            None,
        ),
        ("POST", "/login", {"login": "ajones", "password": "correct horse"}),
        ("GET", "/logout?client_id=test-rp", None),
    ],
)
def test_pages_answer_a_plain_503(rp, portal, method, path, data):
    portal.add_user("ajones", "correct horse")
    browser = Client(raise_request_exception=False)
    with database_down():
        response = browser.generic(
            method,
            path,
            "&".join(f"{k}={v}" for k, v in (data or {}).items()),
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 503
    page = response.content.decode()
    assert "The sign-in service is temporarily unavailable" in page and response["Retry-After"] == "30"
    assert "· Research Portal</title>" in page and "contact the Research Portal support team" in page, (
        "branded, with the way to help, although the database holding the session is down"
    )
    for leak in LEAKS:
        assert leak not in page


def test_a_bug_is_still_a_500(client, monkeypatch):
    from oidc import views

    def broken(request):
        raise ZeroDivisionError("a bug, not an outage")

    monkeypatch.setattr(views.discovery, "document_bytes", lambda: broken(None))
    response = Client(raise_request_exception=False).get(reverse("oidc:discovery"))
    assert response.status_code == 500
    assert "ZeroDivisionError" not in response.content.decode()
