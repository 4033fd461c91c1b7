"""The Django admin for Globus links: every change goes through the policy and the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.urls import reverse

from accounts.globus import GlobusIdentity
from accounts.globus_links import link_identity
from accounts.models import GlobusIdentityLink
from audit.models import AuditEvent
from tests.factories.accounts import make_profile
from tests.globus_standin import BRIDGE_IDP, ELSEWHERE_IDP

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:accounts_globusidentitylink_changelist")
ADD = reverse("admin:accounts_globusidentitylink_add")


@pytest.fixture
def admin_client(client, admin_user):
    """A superuser signed in to the admin site (through ModelBackend, as staff sign in)."""
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def identity_at(standin, username: str, **fields):
    return standin.add_identity(f"{username}@portal.example.edu", BRIDGE_IDP, **fields)


def linked(standin, username: str, **fields) -> GlobusIdentityLink:
    profile = make_profile(username)
    raw = identity_at(standin, username, **fields)
    identity = GlobusIdentity(raw.id, raw.username, raw.identity_provider, raw.status)
    return link_identity(profile, identity, method="admin", proof="admin_assertion", actor="test").link


def action(admin_client, name: str, *links: GlobusIdentityLink):
    return admin_client.post(
        CHANGELIST, {"action": name, "_selected_action": [link.pk for link in links]}, follow=True
    )


def test_the_list_searches_and_filters(admin_client, globus_auth):
    ajones, bsmith = linked(globus_auth, "ajones"), linked(globus_auth, "bsmith", status="unused")
    for term in (str(ajones.identity_id), str(ajones.identity_id)[:8], "ajones@portal", ajones.subject.sub):
        page = admin_client.get(CHANGELIST, {"q": term})
        assert page.status_code == 200
        assert list(page.context["cl"].result_list) == [ajones], term
    page = admin_client.get(CHANGELIST, {"identity_status__exact": "unused"})
    assert list(page.context["cl"].result_list) == [bsmith]
    page = admin_client.get(CHANGELIST, {"method__exact": "admin", "effective__exact": "1"})
    assert page.context["cl"].result_count == 2
    assert {spec.title for spec in page.context["cl"].filter_specs} == {
        "method",
        "proof",
        "effective",
        "identity status",
        "identity provider",
    }


def test_adding_asks_globus_and_applies_the_policy(admin_client, globus_auth):
    profile = make_profile("ajones")
    ours = identity_at(globus_auth, "ajones")
    someone = identity_at(globus_auth, "someone")
    refused = admin_client.post(ADD, {"subject": profile.subject.pk, "globus_identity_id": someone.id})
    assert (
        refused.status_code == 200 and b"The policy refuses this link: username_mismatch" in refused.content
    )
    assert not GlobusIdentityLink.objects.exists()
    assert AuditEvent.objects.get(event="globus.link_refused").details["actor"] == "admin"
    added = admin_client.post(ADD, {"subject": profile.subject.pk, "globus_identity_id": ours.id})
    assert added.status_code == 302, added.content
    link = GlobusIdentityLink.objects.get()
    assert (str(link.identity_id), link.method, link.proof) == (ours.id, "admin", "admin_assertion")
    assert AuditEvent.objects.get(event="globus.link").details["actor"] == "admin"
    assert LogEntry.objects.get(action_flag=ADDITION).object_id == str(link.pk)


def test_another_identity_of_the_person_can_be_recorded_as_not_effective(admin_client, globus_auth):
    profile = make_profile("ajones")
    elsewhere = globus_auth.add_identity("alice@elsewhere.edu", ELSEWHERE_IDP)
    form = {"subject": profile.subject.pk, "globus_identity_id": elsewhere.id}
    refused = admin_client.post(ADD, form)
    assert b"The policy refuses this link: other_provider" in refused.content
    added = admin_client.post(ADD, {**form, "record_only": "on"})
    assert added.status_code == 302, added.content
    link = GlobusIdentityLink.objects.get()
    assert str(link.identity_id) == elsewhere.id and link.effective is False


def test_adding_while_globus_is_down_links_nothing(admin_client, globus_auth):
    profile = make_profile("ajones")
    ours = identity_at(globus_auth, "ajones")
    globus_auth.fail(503)
    page = admin_client.post(ADD, {"subject": profile.subject.pk, "globus_identity_id": ours.id})
    assert page.status_code == 200 and b"Globus is not answering" in page.content
    assert not GlobusIdentityLink.objects.exists()


def test_a_link_is_read_only_and_cannot_be_deleted_by_hand(admin_client, globus_auth):
    link = linked(globus_auth, "ajones")
    url = reverse("admin:accounts_globusidentitylink_change", args=[link.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="identity_id"' not in page.content and b'name="_save"' not in page.content
    assert b"Audit trail" in page.content and b"globus.link" in page.content
    admin_client.post(url, {"effective": "", "username": "x"})
    assert GlobusIdentityLink.objects.get().effective is True
    delete = admin_client.post(
        reverse("admin:accounts_globusidentitylink_delete", args=[link.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403 and GlobusIdentityLink.objects.exists()
    choices = admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert [name for name, _ in choices if name] == ["recheck_at_globus", "make_effective", "unlink_selected"]


def test_unlink_action_is_audited_and_logged(admin_client, globus_auth):
    link = linked(globus_auth, "ajones")
    page = action(admin_client, "unlink_selected", link)
    assert b"unlinked" in page.content
    assert not GlobusIdentityLink.objects.exists()
    event = AuditEvent.objects.get(event="globus.unlink")
    assert (event.reason, event.details["actor"]) == ("admin", "admin")
    assert LogEntry.objects.get(action_flag=DELETION).object_id == str(link.pk)


def test_recheck_refreshes_from_globus_through_the_policy(admin_client, globus_auth):
    fine, closing = linked(globus_auth, "fine", status="unused"), linked(globus_auth, "closing")
    globus_auth.identities[str(fine.identity_id)].status = "used"
    globus_auth.identities[str(closing.identity_id)].status = "closed"
    page = action(admin_client, "recheck_at_globus", fine, closing)
    assert b"refreshed" in page.content and b"refused (identity_closed)" in page.content
    fine.refresh_from_db(), closing.refresh_from_db()
    assert fine.identity_status == "used" and closing.identity_status == "used"
    assert AuditEvent.objects.filter(event="globus.link", reason="reverified").count() == 1
    assert AuditEvent.objects.filter(event="globus.link_refused", reason="identity_closed").count() == 1
    assert LogEntry.objects.get(action_flag=CHANGE).object_id == str(fine.pk)
    again = action(admin_client, "recheck_at_globus", fine)
    assert b"unchanged" in again.content


def test_make_effective_goes_through_the_policy(admin_client, globus_auth):
    profile = make_profile("ajones")
    raw = identity_at(globus_auth, "ajones")
    # A link recorded as not effective (another identity of the person, kept for the record).
    link = GlobusIdentityLink.objects.create(
        subject=profile.subject,
        identity_id=raw.id,
        username=raw.username,
        identity_provider=raw.identity_provider,
        identity_status="used",
        method="admin",
        proof="admin_assertion",
        effective=False,
    )
    page = action(admin_client, "make_effective", link)
    assert b"made effective" in page.content
    link.refresh_from_db()
    assert link.effective is True
    assert AuditEvent.objects.get(event="globus.link").reason == "reverified"


def test_actions_while_globus_is_down_change_nothing(admin_client, globus_auth):
    link = linked(globus_auth, "ajones", status="unused")
    globus_auth.fail(503)
    page = action(admin_client, "recheck_at_globus", link)
    assert b"Globus could not be asked" in page.content
    link.refresh_from_db()
    assert link.identity_status == "unused"
