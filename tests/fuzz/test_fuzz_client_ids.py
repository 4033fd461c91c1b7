"""Client ids no client can have, wherever a request names one.

On PostgreSQL a client id holding NUL made the lookup itself fail (psycopg's DataError, a 500) at
the authorization, token, introspection, revocation and logout endpoints and on the login page.
"""

from __future__ import annotations

import base64
from urllib.parse import quote_from_bytes

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.conftest import (
    BIG_VALUES_OK,
    FUZZ,
    INTROSPECTION_ERRORS,
    REVOCATION_ERRORS,
    TOKEN_ERRORS,
    count,
    json_error,
    sane,
)

pytestmark = [pytest.mark.django_db, BIG_VALUES_OK]

ERRORS = {
    "oidc:token": TOKEN_ERRORS,
    "oidc:introspect": INTROSPECTION_ERRORS,
    "oidc:revoke": REVOCATION_ERRORS,
}


@FUZZ
@given(
    endpoint=st.sampled_from(sorted(ERRORS)), client_id=s.RAW_VALUES, how=st.sampled_from(["basic", "post"])
)
@example(endpoint="oidc:introspect", client_id=b"%00", how="basic")  # was a 500 on PostgreSQL
@example(endpoint="oidc:revoke", client_id=b"%00", how="basic")  # was a 500 on PostgreSQL
@example(endpoint="oidc:token", client_id=b"\x00", how="post")
@example(endpoint="oidc:introspect", client_id=b"\xed\xa0\x80", how="post")
def test_client_authentication_with_odd_ids(client, rp, endpoint, client_id, how):
    body = {"oidc:token": b"grant_type=refresh_token&refresh_token=x"}.get(endpoint, b"token=x")
    headers = {}
    if how == "basic":
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(client_id + b":secret").decode()
    else:
        body += b"&client_id=" + quote_from_bytes(client_id, safe="").encode() + b"&client_secret=secret"
    response = client.generic(
        "POST", reverse(endpoint), body, content_type="application/x-www-form-urlencoded", **headers
    )
    count("test_client_authentication_with_odd_ids")
    assert response.status_code in (400, 401), response.status_code
    json_error(response, ERRORS[endpoint])


BROWSER_URLS = {
    "authorize": "/authorize?response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frp.example.org%2Fcallback&client_id=",
    "logout": "/logout?post_logout_redirect_uri=https%3A%2F%2Frp.example.org%2Flogged-out&client_id=",
    "login": "/login?next=/authorize%3Fclient_id%3D",
}


@FUZZ
@given(where=st.sampled_from(sorted(BROWSER_URLS)), client_id=s.RAW_VALUES)
@example(where="authorize", client_id=b"\x00")  # was a 500 on PostgreSQL
@example(where="logout", client_id=b"\x00")  # was a 500 on PostgreSQL
@example(where="login", client_id=b"\x00")  # was a 500 on PostgreSQL
def test_browser_requests_with_odd_client_ids(client, rp, where, client_id):
    encoded = quote_from_bytes(client_id, safe="")
    if where == "login":
        encoded = quote_from_bytes(encoded.encode(), safe="")  # inside the next parameter
    response = client.get(BROWSER_URLS[where] + encoded)
    count("test_browser_requests_with_odd_client_ids")
    sane(response)
    assert response.status_code in (200, 302) or 400 <= response.status_code < 500
    if response.status_code == 302:
        assert response["Location"].startswith("/") or client_id == rp.client_id.encode()
