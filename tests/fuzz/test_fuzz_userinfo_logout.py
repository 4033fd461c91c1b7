"""Userinfo (RFC 6750) and RP-Initiated Logout under hostile tokens and parameters."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.conftest import BEARER_ERRORS, BIG_VALUES_OK, FUZZ, count, json_error, sane

pytestmark = [pytest.mark.django_db, BIG_VALUES_OK]

SCHEMES = st.sampled_from(
    ["Bearer ", "bearer ", "BEARER ", "Bearer  ", "Bearer\t", "Basic ", "Token ", "", "Bearer"]
)


@FUZZ
@given(
    data=st.data(),
    method=st.sampled_from(["GET", "POST"]),
    scheme=SCHEMES,
    where=st.sampled_from(["header", "body", "both", "query", "none"]),
)
def test_userinfo(client, issued, data, method, scheme, where):
    genuine = issued["access_token"]
    token = data.draw(st.one_of(st.just(genuine), s.tokenish(genuine)))
    headers, body, url = {}, b"", reverse("oidc:userinfo")
    if where in ("header", "both"):
        headers["HTTP_AUTHORIZATION"] = scheme + token
    if where in ("body", "both"):
        body = s.raw_query([(b"access_token", token.encode("utf-8", "surrogatepass"))]).encode("latin-1")
    if where == "query":
        url += "?" + s.raw_query([(b"access_token", token.encode("utf-8", "surrogatepass"))])
    response = client.generic(method, url, body, content_type="application/x-www-form-urlencoded", **headers)
    count("test_userinfo")
    sane(response)
    if response.status_code == 200:
        # Only the genuine token works, sent once: in the header, or in a POST body (a GET's body is
        # not read, RFC 6750 2.2), never in the URL.
        assert token.strip() == genuine and where != "query"  # surrounding blanks are forgiven
        assert (
            where == "header"
            or (where == "body" and method == "POST")
            or (where == "both" and method == "GET")
        )
        assert response.json()["preferred_username"] == "ajones@portal.example.edu"
        return
    assert response.status_code in (400, 401, 403), response.status_code
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith('Bearer realm="idp-bridge"')
    if response.content:  # RFC 6750 3.1: a request with no token at all gets no error code
        json_error(response, BEARER_ERRORS)


@FUZZ
@given(data=st.data(), method=st.sampled_from(["GET", "POST"]), signed_in=st.booleans())
def test_logout(client, issued, fuzz_rp, data, method, signed_in):
    valid = {
        "id_token_hint": data.draw(st.one_of(st.just(issued["id_token"]), s.tokenish(issued["id_token"]))),
        "client_id": fuzz_rp.client_id,
        "post_logout_redirect_uri": fuzz_rp.post_logout_redirect_uri,
        "state": "st-1",
        "ui_locales": "en",
    }
    pairs = s.parameters(data, valid)
    query = s.raw_query(pairs, junk=data.draw(s.QUERY_JUNK))
    browser = client if signed_in else type(client)()
    url = reverse("oidc:logout") + ("?" + query if method == "GET" else "")
    body = query.encode("latin-1") if method == "POST" else b""
    response = browser.generic(method, url, body, content_type="application/x-www-form-urlencoded")
    count("test_logout")
    check_logout_answer(response, fuzz_rp, pairs)


def check_logout_answer(response, rp, pairs) -> None:
    sane(response)
    if response.status_code in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith(rp.post_logout_redirect_uri):
            # Only to the registered URI, and only when it was asked for, exactly, once.
            assert [v for n, v in pairs if n == b"post_logout_redirect_uri"] == [
                rp.post_logout_redirect_uri.encode()
            ]
        else:
            parts = urlsplit(location)
            assert not parts.scheme and not parts.netloc and location.startswith("/"), location
        return
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code


@FUZZ
@given(hint=st.sampled_from(s.FORGED_JWTS), method=st.sampled_from(["GET", "POST"]))
@example(hint=s.FORGED_JWTS[0], method="GET")
def test_forged_logout_hints_are_refused(client, issued, fuzz_rp, hint, method):
    """A hint the bridge did not sign never leads anywhere: an error page, never a redirect."""
    params = {"id_token_hint": hint, "post_logout_redirect_uri": fuzz_rp.post_logout_redirect_uri}
    if method == "GET":
        response = client.get(reverse("oidc:logout"), params)
    else:
        response = client.post(reverse("oidc:logout"), params)
    count("test_forged_logout_hints_are_refused")
    sane(response)
    assert 400 <= response.status_code < 500, response.status_code
