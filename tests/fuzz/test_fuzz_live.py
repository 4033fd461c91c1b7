"""Spot checks over real HTTP: the same hostile input through a real socket and WSGI server.

In-process fuzzing (the rest of this package) is fast; these few properties make sure nothing
differs when the bytes travel through a real HTTP server (header decoding, body framing).
"""

from __future__ import annotations

import base64
import http.client
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_RP_SECRET
from tests.fuzz import strategies as s
from tests.fuzz.conftest import BIG_VALUES_OK, FUZZ, FUZZ_EXAMPLES, LEAKS, count

pytestmark = [pytest.mark.e2e, BIG_VALUES_OK]

REFUSED = 0
PATHS = [
    "/authorize",
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/logout",
    "/login",
    "/jwks",
    "/.well-known/openid-configuration",
    "/admin/login/",
]


def send(bridge_url: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(bridge_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (BrokenPipeError, ConnectionResetError):
        return REFUSED, b""  # the server answered and hung up before an oversized request was sent
    finally:
        conn.close()


@settings(FUZZ, max_examples=max(10, FUZZ_EXAMPLES // 3))
@given(
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "POST"]),
    query=s.SHORT_RAW_VALUES,
    body=s.RAW_VALUES,
    authorization=st.one_of(
        st.none(),
        s.basic_credentials("test-rp", TEST_RP_SECRET),
        s.TOKENISH.map(lambda make: "Bearer " + make(None)),
    ),
    content_type=s.CONTENT_TYPES,
)
@example(
    path="/revoke",
    method="POST",
    query=b"%zz",
    body=b"token=x",
    authorization=None,
    content_type="application/x-www-form-urlencoded",
)
@example(
    path="/introspect",
    method="POST",
    query=b"%00",
    body=b"token=x",
    authorization="Basic " + base64.b64encode(b"%00:%00").decode(),
    content_type="application/x-www-form-urlencoded",
)
@example(
    path="/token",
    method="POST",
    query=b"",
    body=b"grant_type=x",
    authorization=None,
    content_type="application/x-www-form-urlencoded; charset=latin-1",
)
def test_hostile_requests_over_http(bridge_url, rp, path, method, query, body, authorization, content_type):
    raw_query = s.raw_query([(b"client_id", b"test-rp"), (query, query)])
    headers = {"Content-Type": content_type.replace("\x00", "")}
    if authorization is not None:
        headers["Authorization"] = (
            authorization.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")
        )
    status, answer = send(bridge_url, method, f"{path}?{raw_query}", body, headers)
    count("test_hostile_requests_over_http")
    if status == REFUSED:
        assert len(body) + sum(len(v) for v in headers.values()) > 60_000, (
            "only oversized requests are cut off"
        )
        return
    assert status < 500, (status, answer[:300])
    text = answer.decode("utf-8", "replace")
    for leak in LEAKS:
        assert leak not in text
