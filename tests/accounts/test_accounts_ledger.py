"""The subject ledger: subs are never reassigned, renames keep them, collisions block both accounts."""

import pytest
from django.urls import reverse

from accounts.authentication import AccountNeedsAttention, check_legacy_credentials
from accounts.ledger import resolve_conflict, username_key
from accounts.models import Profile, Subject, UsernameConflict, UsernameOverride
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_state_cache(settings):
    settings.BRIDGE_LEGACY_STATE_SECONDS = 0


def login(name: str, password: str = "pw-123456"):
    return check_legacy_credentials(name, password)


def test_username_key_folds_case_and_compatibility_forms():
    assert username_key("AJones") == username_key("ajones") == username_key("ＡＪｏｎｅｓ")
    assert username_key("Straße") == username_key("STRASSE")
    assert username_key("ajones") != username_key("a.jones")


def test_rename_keeps_the_subject_and_is_audited(portal):
    uid = portal.add_user("alice", "pw-123456")
    sub = Profile.objects.get(user=login("alice").user).sub
    portal.update(uid, login="alice2")
    profile = Profile.objects.get(user=login("alice2").user)
    assert profile.sub == sub and profile.preferred_username == "alice2@portal.example.edu"
    event = AuditEvent.objects.get(event="account.renamed")
    assert event.details == {"old_username": "alice", "new_username": "alice2"} and event.legacy_id == str(
        uid
    )


def test_a_reused_legacy_id_is_a_new_person_with_a_new_subject(portal):
    from accounts.ledger import tombstone

    portal.add_user("old", "pw-123456", uid=7)
    old = Profile.objects.get(user=login("old").user)
    portal.delete(7)
    tombstone("7", reason="row_missing")  # what the state check or legacy_audit --record does
    portal.add_user("new", "pw-123456", uid=7)
    new = Profile.objects.get(user=login("new").user)
    assert new.sub != old.sub and new.user_id != old.user_id
    assert Subject.objects.filter(legacy_id="7").count() == 2


def test_a_username_that_reappears_under_another_id_never_inherits(portal):
    portal.add_user("bob", "pw-123456", uid=1)
    first = Profile.objects.get(user=login("bob").user)
    portal.delete(1)
    portal.add_user("bob", "pw-123456", uid=2)
    # The old row is gone: the bridge notices (tombstones it) instead of calling it a conflict.
    second = Profile.objects.get(user=login("bob").user)
    assert second.sub != first.sub and second.user_id != first.user_id
    assert Subject.objects.get(legacy_id="1").tombstoned_at is not None


@pytest.mark.parametrize("other", ["AJones", "ＡＪＯＮＥＳ"])
def test_colliding_usernames_block_both_accounts_until_an_admin_resolves(portal, other):
    first_id = portal.add_user("ajones", "pw-123456")
    second_id = portal.add_user(other, "pw-123456")
    assert login("ajones").ok
    with pytest.raises(AccountNeedsAttention):
        login(other)
    with pytest.raises(AccountNeedsAttention):
        login("ajones")  # never pick one: the first account is blocked too
    conflict = UsernameConflict.objects.get()
    assert set(conflict.legacy_ids) == {str(first_id), str(second_id)}
    assert AuditEvent.objects.filter(event="account.username_conflict").exists()

    assert "still share" in resolve_conflict(conflict, resolved_by="admin")
    subject = Subject.objects.get(legacy_id=str(first_id))
    UsernameOverride.objects.create(subject=subject, username="ajones-legacy", reason="ticket 42")
    assert resolve_conflict(conflict, resolved_by="admin") is None
    assert (
        Profile.objects.get(user=login("ajones").user).preferred_username
        == "ajones-legacy@portal.example.edu"
    )
    assert (
        Profile.objects.get(user=login(other).user).preferred_username
        == f"{other.lower()}@portal.example.edu"
    )


def test_login_page_says_only_that_the_account_needs_attention(client, portal):
    portal.add_user("ajones", "pw-123456")
    portal.add_user("AJones", "pw-123456")
    login("ajones")
    response = client.post(reverse("accounts:login"), {"login": "AJones", "password": "pw-123456"})
    page = response.content.decode()
    assert "needs attention" in page and "ajones" not in page.split("needs attention")[1][:200]


def test_failed_logins_leave_precise_reasons_in_the_audit_but_no_secrets(client, portal):
    portal.add_user("alice", "right-password")
    portal.add_user("sue", "right-password", status=0)
    for name, password in [("alice", "wrong-password"), ("nobody", "x-password"), ("sue", "right-password")]:
        client.post(reverse("accounts:login"), {"login": name, "password": password})
    reasons = list(
        AuditEvent.objects.filter(event="login.failed").order_by("id").values_list("reason", flat=True)
    )
    assert (
        reasons[0] == "mismatch" and reasons[1] == "unknown_user" and reasons[2] in {"inactive", "suspended"}
    )
    dump = str(list(AuditEvent.objects.values()))
    assert "right-password" not in dump and "wrong-password" not in dump and "$2" not in dump


def test_a_shared_email_is_refused_but_is_not_a_username_conflict(portal, settings, tmp_path):
    from accounts.legacy import reset_user_source
    from accounts.legacy.demo import DEMO_MAPPING_PATH

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        DEMO_MAPPING_PATH.read_text().replace(
            'username_match = "exact"', 'username_match = "exact"\nlogin_by = "username_or_email"'
        )
    )
    settings.LEGACY_MAPPING = str(mapping)
    reset_user_source()
    portal.add_user("jo1", "pw-123456", email="shared@example.org")
    portal.add_user("jo2", "pw-123456", email="shared@example.org")
    with pytest.raises(AccountNeedsAttention):
        login("shared@example.org")
    assert not UsernameConflict.objects.exists()
    assert login("jo1").ok


def test_the_audit_trail_names_the_condition_that_blocked_an_account(client, portal):
    portal.add_user("sue", "right-password", status=0)
    client.post(reverse("accounts:login"), {"login": "sue", "password": "right-password"})
    event = AuditEvent.objects.get(event="login.failed")
    assert event.reason == "inactive" and "status" in event.details["condition"]
