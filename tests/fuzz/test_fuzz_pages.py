"""The login form, the admin login, discovery and JWKS under hostile input."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.conftest import BIG_VALUES_OK, FUZZ, PASSWORD, count, sane

pytestmark = [pytest.mark.django_db, BIG_VALUES_OK]

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def portal_user(client, portal):
    """A portal user, signed in once so that unknown users cost a cheap test hash too."""
    portal.add_user("ajones", PASSWORD)
    assert (
        client.post(reverse("accounts:login"), {"login": "ajones", "password": PASSWORD}).status_code == 303
    )
    client.logout()


@FUZZ
@given(data=st.data(), content_type=st.one_of(st.just(FORM), s.CONTENT_TYPES))
@example(data=None, content_type="application/x-www-form-urlencoded; charset=latin-1")
def test_login_form(client, portal_user, data, content_type):
    if data is None:  # the explicit example: a well-formed form in a charset Django refuses
        pairs = [(b"login", b"ajones"), (b"password", b"x")]
    else:
        valid = {
            "login": "ajones",
            "password": data.draw(st.sampled_from([PASSWORD, "wrong"])),
            "next": "/authorize?x=1",
        }
        pairs = s.parameters(data, valid)
    body = s.raw_query(pairs).encode("latin-1")
    response = client.generic("POST", reverse("accounts:login"), body, content_type=content_type)
    count("test_login_form")
    sane(response)
    if response.status_code == 303:  # signed in: only ever to a path on this site
        parts = urlsplit(response["Location"])
        assert not parts.scheme and not parts.netloc and response["Location"].startswith("/")
        assert (b"password", PASSWORD.encode()) in pairs
        client.logout()
    else:
        assert response.status_code in (200, 400, 403, 429), response.status_code
        assert "ajones@" not in response.content.decode("utf-8", "replace")


@FUZZ
@given(next_url=s.RAW_VALUES)
@example(next_url=b"//evil.example/")
@example(next_url=b"/\\evil.example")
@example(next_url=b"\x00/")
def test_login_page_next(client, next_url):
    response = client.get(reverse("accounts:login") + "?" + s.raw_query([(b"next", next_url)]))
    count("test_login_page_next")
    body = sane(response)
    assert response.status_code == 200
    kept = html.unescape(re.search(r'name="next" value="([^"]*)"', body).group(1))
    parts = urlsplit(kept)
    assert kept.startswith("/") and not kept.startswith("//") and not parts.scheme and not parts.netloc, kept


def test_login_form_demands_a_csrf_token(portal_user):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(reverse("accounts:login"), {"login": "ajones", "password": PASSWORD})
    count("test_login_form_demands_a_csrf_token")
    sane(response)
    assert response.status_code == 403


@FUZZ
@given(username=s.RAW_VALUES, password=s.RAW_VALUES, next_url=s.SHORT_RAW_VALUES)
@example(username=b"\x00", password=b"\x00", next_url=b"")
@example(username=b"A" * s.HUGE, password=b"x", next_url=b"")
def test_admin_login(client, admin_user, username, password, next_url):
    body = s.raw_query([(b"username", username), (b"password", password), (b"next", next_url)])
    response = client.generic("POST", "/admin/login/", body.encode("latin-1"), content_type=FORM)
    count("test_admin_login")
    sane(response)
    # admin_user's password is "password": anything drawn here is a refusal.
    assert response.status_code in (200, 400, 403, 429), response.status_code


@FUZZ
@given(
    endpoint=st.sampled_from(["oidc:discovery", "oidc:oauth-metadata", "oidc:jwks"]),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    query=s.SHORT_RAW_VALUES,
    etag=s.RAW_VALUES,
    accept=st.sampled_from(["*/*", "application/json", "text/html", "", "\x00", "a" * 5000]),
)
def test_metadata(client, endpoint, method, query, etag, accept):
    response = client.generic(
        method,
        reverse(endpoint) + "?" + s.raw_query([(query, query)]),
        HTTP_IF_NONE_MATCH=etag.decode("latin-1"),
        HTTP_ACCEPT=accept,
    )
    count("test_metadata")
    sane(response)
    assert response.status_code in (200, 304, 405), response.status_code
    if method == "GET" and response.status_code == 200:
        assert response.json()
