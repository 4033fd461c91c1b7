"""The authorization endpoint under hostile input (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6).

Whatever arrives, the answer is a redirect to the registered redirect URI (with ``code`` or a
named ``error``, ``state`` and ``iss``), a redirect to the login page, or a 4xx error page: never a
500, and never a redirect anywhere else.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.conftest import AUTHORIZE_ERRORS, BIG_VALUES_OK, FUZZ, count, sane

pytestmark = [pytest.mark.django_db, BIG_VALUES_OK]

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
EXTRAS = {
    "prompt": ["none", "login", "consent", "select_account", "none login", "", "bogus"],
    "max_age": ["0", "3600", "-1", "1.5", "99999999999", "٣"],
    "claims": [
        '{"id_token":{"email":{"essential":true}}}',
        '{"userinfo":{"sub":{"value":"someone-else"}}}',
        '{"id_token":{"acr":{"essential":true,"values":["urn:other"]}}}',
        '{"id_token":',
        "[]",
        '{"id_token":null}',
    ],
    "login_hint": ["ajones"],
    "ui_locales": ["en fr"],
    "acr_values": ["urn:idp-bridge:acr:password"],
    "display": ["page", "popup"],
    "response_mode": ["query", "fragment", "form_post"],
    "request": ["eyJhbGciOiJub25lIn0.e30."],
    "request_uri": ["https://rp.example.org/request.jwt"],
}


def authorization_request(data, rp, id_token: str) -> list[tuple[bytes, bytes]]:
    valid = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": data.draw(st.sampled_from(["openid", "openid profile email", "profile", "openid bogus"])),
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    for name, choices in EXTRAS.items():
        if data.draw(st.integers(0, 3)) == 0:
            valid[name] = data.draw(st.sampled_from(choices))
    if data.draw(st.booleans()):
        valid["id_token_hint"] = data.draw(st.one_of(st.just(id_token), s.tokenish(id_token)))
    return s.parameters(data, valid)


def check_authorization_answer(response, rp, pairs) -> None:
    sane(response)
    if response.status_code not in (301, 302, 303, 307, 308):
        assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code
        return
    location = response["Location"]
    if location.startswith(reverse("accounts:login")):
        return
    # Only the registered redirect URI, named exactly once with the right client, is ever used.
    assert location.startswith(rp.redirect_uri + "?"), location
    assert pairs.count((b"redirect_uri", rp.redirect_uri.encode())) == 1
    assert [v for n, v in pairs if n == b"redirect_uri"] == [rp.redirect_uri.encode()]
    assert [v for n, v in pairs if n == b"client_id"] == [rp.client_id.encode()]
    answer = parse_qs(urlsplit(location).query)
    assert answer["iss"] == ["http://127.0.0.1:8000"], answer
    assert "code" in answer or answer.get("error", [""])[0] in AUTHORIZE_ERRORS, answer


@FUZZ
@given(data=st.data(), signed_in=st.booleans())
def test_authorization_requests(client, issued, fuzz_rp, data, signed_in):
    pairs = authorization_request(data, fuzz_rp, issued["id_token"])
    query = s.raw_query(pairs, junk=data.draw(s.QUERY_JUNK))
    browser = client if signed_in else type(client)()
    response = browser.get(reverse("oidc:authorize") + "?" + query)
    count("test_authorization_requests")
    check_authorization_answer(response, fuzz_rp, pairs)


@FUZZ
@given(pending=s.raw_values(), extra=st.sampled_from([b"", b"&allow=1", b"&deny=1", b"&allow=1&pending=x"]))
@example(pending=b"\xed\xa0\x80", extra=b"&allow=1")
@example(pending=b"A" * s.HUGE, extra=b"&allow=1")
def test_consent_form_posts(client, issued, pending, extra):
    body = s.raw_query([(b"pending", pending)]).encode("latin-1") + extra
    response = client.generic(
        "POST", reverse("oidc:authorize"), body, content_type="application/x-www-form-urlencoded"
    )
    count("test_consent_form_posts")
    sane(response)
    assert 400 <= response.status_code < 500  # no such pending request: an error page


@FUZZ
@given(method=st.sampled_from(["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]), query=s.raw_values(40))
def test_authorization_endpoint_other_methods(client, method, query):
    response = client.generic(method, reverse("oidc:authorize") + "?" + s.raw_query([(b"client_id", query)]))
    count("test_authorization_endpoint_other_methods")
    sane(response)
    if method in ("PUT", "DELETE", "PATCH"):
        assert response.status_code == 405
    else:  # HEAD is answered as GET would be; OPTIONS lists the methods
        assert response.status_code in (200, 302) or 400 <= response.status_code < 500
