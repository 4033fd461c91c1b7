"""RFC 7009 revocation and RFC 7662 introspection, as a relying party uses them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from tests.e2e.support import HTTP_TIMEOUT, RP, Browser, Tokens, User

pytestmark = pytest.mark.e2e

INACTIVE = {"active": False}


@pytest.fixture
def tokens(browser: Browser, relying_party: RP, alice: User) -> Tokens:
    return relying_party.sign_in(browser, alice.credentials, "openid profile")


def test_introspecting_a_live_access_token(relying_party: RP, tokens: Tokens) -> None:
    response = relying_party.introspect(tokens.access_token)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    info = response.json()
    assert info["active"] is True
    assert tokens.id_claims is not None
    assert info["sub"] == tokens.id_claims["sub"]
    assert set(info["scope"].split()) == {"openid", "profile"}
    assert info["client_id"] == relying_party.client_id
    assert isinstance(info["exp"], int) and info["exp"] > time.time()
    assert info.get("token_type", "Bearer").lower() == "bearer"


def test_introspecting_a_live_refresh_token(relying_party: RP, tokens: Tokens) -> None:
    assert tokens.refresh_token
    info = relying_party.introspect(tokens.refresh_token, token_type_hint="refresh_token").json()
    assert info["active"] is True
    assert tokens.id_claims is not None
    assert info["sub"] == tokens.id_claims["sub"]
    assert info["client_id"] == relying_party.client_id


def test_introspecting_garbage_is_simply_inactive(relying_party: RP, tokens: Tokens) -> None:
    response = relying_party.introspect("no-such-token")
    assert response.status_code == 200
    assert response.json() == INACTIVE


def test_revoking_the_access_token(relying_party: RP, tokens: Tokens) -> None:
    response = relying_party.revoke(tokens.access_token, token_type_hint="access_token")
    assert response.status_code == 200, response.text

    # RFC 7662 2.2: an inactive token reveals nothing else.
    assert relying_party.introspect(tokens.access_token).json() == INACTIVE
    userinfo = relying_party.userinfo(tokens.access_token)
    assert userinfo.status_code == 401
    assert "invalid_token" in userinfo.headers.get("WWW-Authenticate", "")


def test_revoking_the_refresh_token(relying_party: RP, tokens: Tokens) -> None:
    assert tokens.refresh_token
    response = relying_party.revoke(tokens.refresh_token, token_type_hint="refresh_token")
    assert response.status_code == 200, response.text

    assert relying_party.introspect(tokens.refresh_token).json() == INACTIVE
    refresh = relying_party.post_token({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    # RFC 7009 2.1: revoking a refresh token SHOULD also invalidate the access tokens of that grant.
    assert relying_party.introspect(tokens.access_token).json() == INACTIVE
    assert relying_party.userinfo(tokens.access_token).status_code == 401


def test_revoking_without_a_hint_or_with_the_wrong_hint_still_works(
    relying_party: RP, tokens: Tokens
) -> None:
    # RFC 7009 2.1: a wrong hint only costs the server a second lookup.
    response = relying_party.revoke(tokens.access_token, token_type_hint="refresh_token")
    assert response.status_code == 200
    assert relying_party.introspect(tokens.access_token).json() == INACTIVE


def test_revoking_an_unknown_token_is_not_an_error(relying_party: RP, tokens: Tokens) -> None:
    # RFC 7009 2.2: invalid tokens do not cause an error response.
    assert relying_party.revoke("no-such-token").status_code == 200


def test_another_client_cannot_introspect_this_clients_tokens(
    make_rp: Callable[..., RP], relying_party: RP, tokens: Tokens
) -> None:
    other = make_rp("other-rp")
    assert tokens.refresh_token
    assert other.introspect(tokens.access_token).json() == INACTIVE
    assert other.introspect(tokens.refresh_token).json() == INACTIVE


def test_another_client_cannot_revoke_this_clients_tokens(
    make_rp: Callable[..., RP], relying_party: RP, tokens: Tokens
) -> None:
    other = make_rp("other-rp")
    assert tokens.refresh_token
    for token in (tokens.access_token, tokens.refresh_token):
        response = other.revoke(token)
        assert response.status_code < 500
    assert relying_party.introspect(tokens.access_token).json()["active"] is True
    assert relying_party.userinfo(tokens.access_token).status_code == 200
    assert relying_party.refresh(tokens.refresh_token)["access_token"]


def test_introspection_requires_client_authentication(relying_party: RP, tokens: Tokens) -> None:
    url = relying_party.bridge.metadata["introspection_endpoint"]
    anonymous = requests.post(url, data={"token": tokens.access_token}, timeout=HTTP_TIMEOUT)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in anonymous.headers
    assert "sub" not in anonymous.text

    wrong = requests.post(
        url,
        data={"token": tokens.access_token},
        auth=(relying_party.client_id, "x" * 48),
        timeout=HTTP_TIMEOUT,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_introspection_with_a_bearer_token_instead_of_client_credentials_is_refused(
    relying_party: RP, tokens: Tokens
) -> None:
    url = relying_party.bridge.metadata["introspection_endpoint"]
    response = requests.post(
        url,
        data={"token": tokens.access_token},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert "sub" not in response.text


def test_revocation_requires_client_authentication(relying_party: RP, tokens: Tokens) -> None:
    response = relying_party.revoke(tokens.access_token, client_auth=False)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert relying_party.userinfo(tokens.access_token).status_code == 200


def test_a_public_client_can_revoke_its_own_token(
    browser: Browser, make_rp: Callable[..., RP], alice: User
) -> None:
    public = make_rp("public-rp", public=True)
    public_tokens = public.sign_in(browser, alice.credentials)
    assert public.revoke(public_tokens.access_token).status_code == 200
    assert public.userinfo(public_tokens.access_token).status_code == 401
