"""What a relying party learns before it sends anyone to sign in: discovery and the JWKS."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from tests.e2e.support import HTTP_TIMEOUT, RP, Bridge, Browser, User

pytestmark = pytest.mark.e2e

ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
)


def test_the_issuer_is_exactly_the_url_the_bridge_answers_at(bridge: Bridge, bridge_url: str) -> None:
    # Relying parties compare issuer and iss character for character (OIDC Discovery 4.3).
    assert bridge.metadata["issuer"] == bridge_url
    assert not bridge.metadata["issuer"].endswith("/")


def test_every_endpoint_named_in_discovery_answers(bridge: Bridge, subtests: Any) -> None:
    for name in ENDPOINTS:
        url = bridge.metadata[name]
        with subtests.test(endpoint=name):
            assert url.startswith(bridge.issuer + "/"), url
            for method in ("GET", "POST"):
                response = requests.request(method, url, timeout=HTTP_TIMEOUT, allow_redirects=False)
                assert response.status_code != 404, f"{method} {url}"
                assert response.status_code < 500, f"{method} {url}: {response.status_code}"


def test_discovery_states_what_the_bridge_really_does(bridge: Bridge) -> None:
    meta = bridge.metadata
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert meta["subject_types_supported"] == ["public"]
    assert meta["claims_parameter_supported"] is True
    assert meta["request_parameter_supported"] is False
    assert meta["request_uri_parameter_supported"] is False
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "email"} <= set(meta["scopes_supported"])
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    assert {"sub", "preferred_username", "email", "auth_time"} <= set(meta["claims_supported"])


def test_oauth_server_metadata_says_the_same_as_openid_discovery(bridge: Bridge) -> None:
    response = requests.get(f"{bridge.url}/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    assert response.json() == bridge.metadata


def test_jwks_lists_the_active_key_first_with_kid_use_and_alg(bridge: Bridge) -> None:
    response = requests.get(bridge.metadata["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    keys = response.json()["keys"]
    assert keys, "an empty JWKS: nobody could verify an ID token"
    first = keys[0]
    assert first["kty"] == "RSA"
    assert first["use"] == "sig"
    assert first["alg"] == "RS256"
    assert isinstance(first["kid"], str) and first["kid"]
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private key member is published"
    assert len({key["kid"] for key in keys}) == len(keys), "kids must be unique"


def test_the_id_token_is_signed_by_the_first_key_in_the_jwks(
    bridge: Bridge, browser: Browser, relying_party: RP, alice: User
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials)
    assert tokens.id_token is not None
    header = json.loads(base64.urlsafe_b64decode(tokens.id_token.split(".")[0] + "=="))
    kids = [key["kid"] for key in bridge.jwks()["keys"]]
    assert header["kid"] in kids
    assert header["kid"] == kids[0], "the active signing key must be listed first (DECISIONS.md)"
    assert header["alg"] == "RS256"


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_metadata_can_be_revalidated_with_an_etag(bridge: Bridge, path: str) -> None:
    first = requests.get(bridge.url + path, timeout=HTTP_TIMEOUT)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "max-age=" in first.headers["Cache-Control"]

    again = requests.get(bridge.url + path, headers={"If-None-Match": etag}, timeout=HTTP_TIMEOUT)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag

    stale = requests.get(bridge.url + path, headers={"If-None-Match": '"not-the-etag"'}, timeout=HTTP_TIMEOUT)
    assert stale.status_code == 200
    assert stale.json() == first.json()
