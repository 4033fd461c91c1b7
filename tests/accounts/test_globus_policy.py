"""The effective-identity policy and the link records, without a Globus login (admin and import paths)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts import globus_links
from accounts.globus import GlobusIdentity
from accounts.models import GlobusIdentityLink, Profile, Subject, UsernameOverride
from audit.models import AuditEvent
from tests.globus_standin import BRIDGE_IDP, GLOBUSID_IDP

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _this_idp(settings):
    settings.BRIDGE_GLOBUS_IDP_ID = BRIDGE_IDP


def make_profile(legacy_username: str = "ajones", legacy_id: str = "42") -> Profile:
    user = get_user_model().objects.create(username=f"legacy-{legacy_id}")
    subject = Subject.objects.create(legacy_id=legacy_id)
    return Profile.objects.create(user=user, subject=subject, legacy_username=legacy_username)


def identity(username: str, provider: str = BRIDGE_IDP, status: str = "used") -> GlobusIdentity:
    return GlobusIdentity(str(uuid.uuid4()), username, provider, status)


def admin_link(profile, ident, **kwargs):
    return globus_links.link_identity(
        profile, ident, method="admin", proof="admin_assertion", actor="it-staff", **kwargs
    )


def test_the_policy_username_is_the_lower_cased_preferred_username_and_honours_an_override():
    profile = make_profile("AJones")
    assert globus_links.policy_username(profile) == "ajones@portal.example.edu"
    UsernameOverride.objects.create(subject=profile.subject, username="alice", reason="conflict")
    profile.subject.refresh_from_db()
    assert globus_links.policy_username(Profile.objects.get(pk=profile.pk)) == "alice@portal.example.edu"


@pytest.mark.parametrize(
    ("ident", "reason"),
    [
        (identity("ajones@portal.example.edu"), None),
        (identity("ajones@portal.example.edu", GLOBUSID_IDP), "other_provider"),
        (identity("bob@portal.example.edu"), "username_mismatch"),
        (identity("ajones@portal.example.edu", status="closed"), "identity_closed"),
        (identity("ajones@portal.example.edu", status="unused"), None),
    ],
)
def test_policy(ident, reason):
    assert globus_links.policy_refusal(make_profile(), ident) == reason


def test_an_admin_link_is_recorded_as_asserted_and_audited_without_secrets():
    profile = make_profile()
    ident = identity("ajones@portal.example.edu")
    result = admin_link(profile, ident)
    assert result.created and (result.link.proof, result.link.method, result.link.verified_at) == (
        "admin_assertion",
        "admin",
        None,
    )
    event = AuditEvent.objects.get(event="globus.link")
    assert event.reason == "admin" and event.legacy_id == "42"
    assert event.details["identity_id"] == ident.id and event.details["actor"] == "it-staff"
    assert event.details["sub"] == profile.sub


def test_an_identity_from_another_provider_is_never_made_effective_but_may_be_recorded():
    profile = make_profile()
    other = identity("ada@globusid.org", GLOBUSID_IDP)
    with pytest.raises(globus_links.LinkRefused) as refused:
        admin_link(profile, other)
    assert refused.value.reason == "other_provider"
    assert AuditEvent.objects.get(event="globus.link_refused").reason == "other_provider"
    recorded = admin_link(profile, other, effective=False).link
    assert not recorded.effective and globus_links.effective_link(profile.subject) is None


def test_one_effective_link_per_account_and_one_account_per_identity():
    alice, bob = make_profile("ajones", "1"), make_profile("bob", "2")
    first = identity("ajones@portal.example.edu")
    admin_link(alice, first)
    with pytest.raises(globus_links.LinkRefused) as refused:
        admin_link(alice, identity("ajones@portal.example.edu"))  # a second identity, same username
    assert refused.value.reason == "another_identity_linked"
    with pytest.raises(globus_links.LinkRefused) as refused:
        admin_link(bob, first, effective=False)
    assert refused.value.reason == "linked_to_another_account"
    assert GlobusIdentityLink.objects.count() == 1
    # The database holds the line too, whatever code path writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        GlobusIdentityLink.objects.create(
            subject=alice.subject,
            identity_id=uuid.uuid4(),
            username="x",
            identity_provider=BRIDGE_IDP,
            method="import",
            proof="admin_assertion",
            effective=True,
        )


def test_unlink_removes_the_link_and_audits_it():
    profile = make_profile()
    link = admin_link(profile, identity("ajones@portal.example.edu")).link
    globus_links.unlink(profile, link, actor="it-staff")
    assert not GlobusIdentityLink.objects.exists()
    event = AuditEvent.objects.get(event="globus.unlink")
    assert event.reason == "admin" and event.details["was_effective"] is True
    with pytest.raises(ValueError):
        other = make_profile("bob", "2")
        globus_links.unlink(other, admin_link(profile, identity("ajones@portal.example.edu")).link)
