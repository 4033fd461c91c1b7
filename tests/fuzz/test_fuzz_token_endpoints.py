"""Token, introspection and revocation endpoints under hostile input: always the spec's 4xx, or a
correct 200, never a 500 (RFC 6749 5.2, RFC 7662 2.3, RFC 7009 2.2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import TEST_RP_SECRET
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

TOKEN_NAMES = (
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
)


def post(client: Any, url: str, body: bytes, content_type: str, authorization: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return client.generic("POST", url, body, content_type=content_type, **headers)


def authorizations(client_id: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), s.basic_credentials(client_id, TEST_RP_SECRET))


@FUZZ
@given(data=st.data())
def test_token_endpoint(client, issued, fuzz_rp, data):
    valid = {
        "grant_type": data.draw(st.sampled_from(["authorization_code", "refresh_token"])),
        "code": "not-a-code",
        "redirect_uri": fuzz_rp.redirect_uri,
        "code_verifier": "v" * 43,
        "refresh_token": data.draw(s.tokenish(issued["refresh_token"])),
    }
    pairs = s.parameters(data, valid)
    body = s.raw_query(pairs, junk=data.draw(s.QUERY_JUNK)).encode("latin-1")
    content_type = data.draw(st.one_of(st.just("application/x-www-form-urlencoded"), s.CONTENT_TYPES))
    response = post(
        client, reverse("oidc:token"), body, content_type, data.draw(authorizations(fuzz_rp.client_id))
    )
    count("test_token_endpoint")
    assert response.status_code in (400, 401), (response.status_code, response.content[:300])
    json_error(response, TOKEN_ERRORS)
    assert response["Cache-Control"] == "no-store"


@FUZZ
@given(
    body=s.BROKEN_BODIES,
    content_type=s.CONTENT_TYPES,
    authorization=st.sampled_from([None, "Basic dGVzdC1ycDp4", "Basic !"]),
    endpoint=st.sampled_from(["oidc:token", "oidc:introspect", "oidc:revoke"]),
)
@example(
    body=b"a=1&" * 200,
    content_type="application/x-www-form-urlencoded",
    authorization=None,
    endpoint="oidc:token",
)
@example(
    body=b"a" * s.HUGE,
    content_type="application/x-www-form-urlencoded",
    authorization=None,
    endpoint="oidc:revoke",
)
@example(
    body=b"\xff\xfe\x00\x00",
    content_type="multipart/form-data",
    authorization=None,
    endpoint="oidc:introspect",
)
def test_form_endpoints_refuse_broken_bodies(client, fuzz_rp, body, content_type, authorization, endpoint):
    response = post(client, reverse(endpoint), body, content_type, authorization)
    count("test_form_endpoints_refuse_broken_bodies")
    allowed = {
        "oidc:token": TOKEN_ERRORS,
        "oidc:introspect": INTROSPECTION_ERRORS,
        "oidc:revoke": REVOCATION_ERRORS,
    }
    assert response.status_code in (400, 401)
    json_error(response, allowed[endpoint])


@FUZZ
@given(data=st.data())
def test_introspection(client, issued, fuzz_rp, data):
    valid = {
        "token": data.draw(
            st.one_of(s.tokenish(issued["access_token"]), s.tokenish(issued["refresh_token"]))
        ),
        "token_type_hint": data.draw(st.sampled_from(["access_token", "refresh_token", "id_token", "x"])),
    }
    pairs = s.parameters(data, valid)
    body = s.raw_query(pairs, junk=data.draw(s.QUERY_JUNK)).encode("latin-1")
    authorization = data.draw(authorizations(fuzz_rp.client_id))
    response = post(
        client, reverse("oidc:introspect"), body, "application/x-www-form-urlencoded", authorization
    )
    count("test_introspection")
    if response.status_code == 200:
        sane(response)
        # A forged or damaged token is never active; only the genuine one (sent unharmed) may be.
        answer = response.json()
        genuine = {issued["access_token"], issued["refresh_token"]}
        sent = [value.decode("latin-1") for name, value in pairs if name == b"token"]
        assert answer["active"] is False or (len(sent) == 1 and sent[0] in genuine), answer
    else:
        assert response.status_code in (400, 401)
        json_error(response, INTROSPECTION_ERRORS)


@FUZZ
@given(data=st.data())
def test_revocation(client, issued, fuzz_rp, data):
    valid = {
        # A mangled token only: revoking the genuine one would end the fuzzing of the others.
        "token": data.draw(s.tokenish(issued["access_token"])),
        "token_type_hint": data.draw(st.sampled_from(["access_token", "refresh_token", "id_token", ""])),
    }
    pairs = s.parameters(data, valid)
    body = s.raw_query(pairs, junk=data.draw(s.QUERY_JUNK)).encode("latin-1")
    authorization = data.draw(authorizations(fuzz_rp.client_id))
    response = post(client, reverse("oidc:revoke"), body, "application/x-www-form-urlencoded", authorization)
    count("test_revocation")
    if response.status_code == 200:
        sane(response)  # RFC 7009 2.2: an invalid token is answered 200 all the same
    else:
        assert response.status_code in (400, 401)
        json_error(response, REVOCATION_ERRORS)


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    endpoint=st.sampled_from(["oidc:token", "oidc:introspect", "oidc:revoke"]),
)
def test_form_endpoints_refuse_other_methods(client, method, endpoint):
    response = client.generic(method, reverse(endpoint))
    count("test_form_endpoints_refuse_other_methods")
    sane(response)
    assert 400 <= response.status_code < 500 or (method == "OPTIONS" and response.status_code == 200)
