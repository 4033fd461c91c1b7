"""The claims module: which claims a grant releases, and that an empty value is never sent."""

import pytest
from django.test import override_settings

from accounts.models import Profile, Subject
from oidc import claims


@pytest.fixture
def profile(db, django_user_model) -> Profile:
    user = django_user_model.objects.create(username="legacy.x")
    return Profile.objects.create(
        user=user,
        subject=Subject.objects.create(legacy_id="42"),
        legacy_username="AJones",
        name="Alice Jones",
        given_name="Alice",
        family_name="Jones",
        email="ajones@example.org",
        organization="Example University",
    )


GOLDEN = {
    ("openid",): ["sub"],
    ("openid", "profile"): ["sub", "name", "given_name", "family_name", "preferred_username", "organization"],
    ("openid", "email"): ["sub", "email", "email_verified"],
    ("openid", "profile", "email"): [
        "sub",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "organization",
        "email",
        "email_verified",
    ],
    ("profile", "email"): [],  # not an OpenID request: no claims at all
}


@pytest.mark.parametrize("scopes", GOLDEN)
def test_claims_released_per_scope_are_pinned(profile, scopes):
    assert list(claims.released_claims(profile, scopes)) == GOLDEN[scopes]


def test_claim_values_come_from_the_legacy_row_and_the_ledger(profile):
    released = claims.released_claims(profile, ["openid", "profile", "email"])
    assert released == {
        "sub": profile.subject.sub,
        "name": "Alice Jones",
        "given_name": "Alice",
        "family_name": "Jones",
        "preferred_username": "ajones@portal.example.edu",  # lower-cased, as Globus usernames are
        "organization": "Example University",
        "email": "ajones@example.org",
        "email_verified": False,
    }


def test_sub_is_opaque_and_never_the_django_pk_or_username(profile):
    sub = claims.released_claims(profile, ["openid"])["sub"]
    assert sub not in {str(profile.user.pk), "42", "AJones", profile.user.username}
    assert len(sub) >= 32


def test_an_empty_value_is_left_out_never_sent_as_empty_string(profile):
    profile.email = ""
    profile.organization = ""
    released = claims.released_claims(profile, ["openid", "profile", "email"])
    assert "email" not in released and "email_verified" not in released and "organization" not in released


@override_settings(BRIDGE_EMAIL_VERIFIED=True)
def test_email_verified_follows_the_setting(profile):
    assert claims.released_claims(profile, ["openid", "email"])["email_verified"] is True


def test_claims_parameter_adds_individual_claims_beyond_the_scopes(profile):
    requested = {
        "userinfo": {"email": None},
        "id_token": {"name": {"essential": True}, "unknown_claim": None},
    }
    released = claims.released_claims(profile, ["openid"], requested)
    assert set(released) == {"sub", "email", "name"}


@pytest.mark.parametrize(
    "value, problem",
    [
        ([], "claims must be a JSON object"),
        ({"id_token": []}, "claims.id_token must be a JSON object"),
        ({"userinfo": {"email": 1}}, "claims.userinfo.email must be null or a JSON object"),
        ({"id_token": {"acr": {"values": "x"}}}, "claims.id_token.acr.values must be an array"),
    ],
)
def test_malformed_claims_parameter_is_explained(value, problem):
    assert claims.validate_claims_request(value) == problem


def test_well_formed_claims_parameter_is_accepted():
    assert claims.validate_claims_request({"id_token": {"sub": {"value": "x"}}, "other": 1}) is None
    assert claims.requested_sub({"id_token": {"sub": {"value": "x"}}}) == "x"
