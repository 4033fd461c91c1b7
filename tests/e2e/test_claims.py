"""Golden claims: exactly what a relying party receives for each scope, in the ID token and userinfo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.support import RP, Browser, User

pytestmark = pytest.mark.e2e

ALICE_PROFILE = {
    "name": "Alice Smith",
    "given_name": "Alice",
    "family_name": "Smith",
    "preferred_username": "alice.smith@portal.example.edu",
    "organization": "Example University",
}
ALICE_EMAIL = {"email": "alice@example.org", "email_verified": False}

# What every ID token carries besides the user's claims (the nonce because the RP sent one).
ID_TOKEN_PROTOCOL_CLAIMS = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "jti"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", {}),
        ("openid profile", ALICE_PROFILE),
        ("openid email", ALICE_EMAIL),
        ("openid profile email", ALICE_PROFILE | ALICE_EMAIL),
    ],
    ids=["openid", "profile", "email", "profile+email"],
)
def test_golden_claims_per_scope(
    browser: Browser, relying_party: RP, alice: User, scope: str, expected: dict[str, Any]
) -> None:
    tokens = relying_party.sign_in(browser, alice.credentials, scope)
    assert tokens.id_claims is not None
    sub = tokens.id_claims["sub"]

    assert tokens.user_claims() == {"sub": sub, **expected}
    assert set(tokens.id_claims) == ID_TOKEN_PROTOCOL_CLAIMS | {"sub"} | set(expected)

    userinfo = relying_party.userinfo(tokens.access_token)
    assert userinfo.status_code == 200
    assert userinfo.json() == {"sub": sub, **expected}


@pytest.mark.parametrize("stored", [None, ""], ids=["NULL", "empty-string"])
def test_a_legacy_user_without_email_gets_no_email_claims_at_all(
    portal: Any, add_user: Callable[..., User], browser: Browser, relying_party: RP, stored: str | None
) -> None:
    carol = add_user("carol", first_name="Carol", last_name="King")
    portal.update(carol.uid, email=stored)

    tokens = relying_party.sign_in(browser, carol.credentials, "openid profile email")
    assert tokens.id_claims is not None
    assert "email" not in tokens.id_claims and "email_verified" not in tokens.id_claims
    userinfo = relying_party.userinfo(tokens.access_token).json()
    assert "email" not in userinfo and "email_verified" not in userinfo
    assert userinfo["preferred_username"] == "carol@portal.example.edu"
    assert userinfo == tokens.user_claims()


def test_missing_legacy_values_are_left_out_never_sent_empty(
    portal: Any, add_user: Callable[..., User], browser: Browser, relying_party: RP
) -> None:
    dave = add_user("dave", first_name="Dave", last_name=None, institution=None)
    portal.update(dave.uid, last_name="", institution=None)

    tokens = relying_party.sign_in(browser, dave.credentials, "openid profile email")
    assert tokens.id_claims is not None
    for claims in (tokens.id_claims, relying_party.userinfo(tokens.access_token).json()):
        assert "family_name" not in claims
        assert "organization" not in claims
        assert claims["given_name"] == "Dave"
        assert claims["name"] == "Dave"
        assert "" not in claims.values() and None not in claims.values()


def test_username_is_lower_cased_with_the_portal_domain(
    add_user: Callable[..., User], browser: Browser, relying_party: RP
) -> None:
    user = add_user("MixedCase.User")
    tokens = relying_party.sign_in(browser, user.credentials, "openid profile")
    assert tokens.id_claims is not None
    assert tokens.id_claims["preferred_username"] == "mixedcase.user@portal.example.edu"
