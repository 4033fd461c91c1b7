"""Every endpoint with a hostile raw query string: stray ``%``, NUL, invalid UTF-8, separators.

Django parses a query string leniently and oauthlib strictly; before ``BridgeOAuthLibCore`` a stray
``%`` made oauthlib raise (a 500 from the authorization, revocation and introspection endpoints).
"""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import TEST_RP_SECRET
from tests.fuzz.conftest import BIG_VALUES_OK, FUZZ, count, sane

pytestmark = [pytest.mark.django_db, BIG_VALUES_OK]

VALID_AUTHORIZE = "response_type=code&client_id=test-rp&redirect_uri=https%3A%2F%2Frp.example.org%2Fcallback&scope=openid&state=s"
ENDPOINTS = {
    "oidc:authorize": VALID_AUTHORIZE,
    "oidc:token": "",
    "oidc:userinfo": "",
    "oidc:introspect": "",
    "oidc:revoke": "",
    "oidc:logout": "client_id=test-rp",
    "oidc:discovery": "",
    "oidc:jwks": "",
    "accounts:login": "next=/authorize",
    "oidc:account": "",
}
JUNK = st.one_of(
    st.sampled_from(
        ["%", "%zz", "a=%", "%zz=1", "=%", "&&", "%00", "%ED%A0%80", "%C0%AF", "a=%FF%FE", ";", "#x"]
    ),
    st.text(st.characters(codec="latin-1"), max_size=40),
    st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")),
)


@FUZZ
@given(endpoint=st.sampled_from(sorted(ENDPOINTS)), junk=JUNK, method=st.sampled_from(["GET", "POST"]))
@example(endpoint="oidc:authorize", junk="%zz=1", method="GET")  # was a 500 (oauthlib ValueError)
@example(endpoint="oidc:authorize", junk="a=%", method="GET")  # was a 500
@example(endpoint="oidc:revoke", junk="%zz", method="POST")  # was a 500
@example(endpoint="oidc:introspect", junk="%zz", method="POST")  # was a 500
def test_raw_query_strings(client, rp, endpoint, junk, method):
    base = ENDPOINTS[endpoint]
    url = reverse(endpoint) + "?" + (f"{base}&{junk}" if base else junk)
    credentials = base64.b64encode(f"{rp.client_id}:{TEST_RP_SECRET}".encode()).decode()
    response = client.generic(
        method,
        url,
        b"token=x",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    count("test_raw_query_strings")
    sane(response)
