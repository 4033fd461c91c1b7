"""The audit trail: every security event a security officer asks about is recorded, and exportable."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import audit
from audit.models import AuditEvent
from tests.oidc.test_flow import basic, sign_in_and_get_tokens

pytestmark = pytest.mark.django_db


def events() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.order_by("pk").values_list("event", "reason"))


def test_a_grant_leaves_login_token_refresh_and_revocation_events(client, portal, make_client):
    portal.add_user("ajones", "correct horse")
    rp = make_client(trusted=True)
    client.post(reverse("accounts:login"), {"login": "ajones", "password": "wrong"})
    tokens = sign_in_and_get_tokens(client, rp)
    refreshed = client.post(
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(rp.client_id),
    ).json()
    client.post(
        reverse("oidc:revoke"),
        {"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=basic(rp.client_id),
    )
    assert events() == [
        ("client.registered", "created"),
        ("login.failed", "mismatch"),
        ("login.succeeded", "ok"),
        ("token.issued", "authorization_code"),
        ("token.refreshed", "refresh_token"),
        ("token.revoked", "client_request"),
    ]
    issued = AuditEvent.objects.get(event="token.issued")
    refresh = AuditEvent.objects.get(event="token.refreshed")
    assert issued.client_id == rp.client_id and issued.legacy_id and issued.user is not None
    assert issued.details["scope"] == "openid profile email"
    assert issued.details["family"] == refresh.details["family"] != ""  # one grant, followed through
    assert issued.ip_address == "127.0.0.1"
    exported = "\n".join(json.dumps(e.details) for e in AuditEvent.objects.all())
    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed["access_token"],
        "correct horse",
    ):
        assert secret not in exported


def test_consent_given_and_withdrawn_are_recorded(client, portal, make_client):
    from accounts.models import Profile
    from oidc.consent import record_consent, revoke_consent
    from oidc.models import Application

    portal.add_user("ajones", "correct horse")
    rp = make_client()
    sign_in_and_get_tokens(client, make_client("other", trusted=True))
    user = Profile.objects.get().user
    consent = record_consent(user, Application.objects.get(client_id=rp.client_id), ["openid", "email"], [])
    revoke_consent(consent, by="user")
    granted = AuditEvent.objects.get(event="consent.granted")
    withdrawn = AuditEvent.objects.get(event="consent.revoked")
    assert (granted.client_id, granted.details["scope"], granted.user) == (rp.client_id, "email openid", user)
    assert (withdrawn.reason, withdrawn.client_id, withdrawn.legacy_id) == (
        "user",
        rp.client_id,
        granted.legacy_id,
    )


def test_client_registration_and_admin_changes_are_recorded(make_client, django_user_model):
    from django.test import Client

    make_client("globus")
    registered = AuditEvent.objects.get(event="client.registered")
    assert registered.reason == "created" and registered.client_id == "globus"
    assert "s" * 40 not in json.dumps(registered.details)  # the secret never

    staff = Client()
    admin = django_user_model.objects.create_superuser("admin", "admin@example.org", "admin-pass")
    staff.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    staff.post(
        reverse("admin:auth_user_change", args=[admin.pk]),
        {
            "username": "admin",
            "email": "new@example.org",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    changed = AuditEvent.objects.get(event="admin.changed")
    assert changed.reason == "auth.user" and changed.user == admin and "Email" in changed.details["fields"]


def test_audit_events_cannot_be_changed_or_deleted():
    from audit.models import AppendOnlyError

    audit.record("login.failed", reason="mismatch", legacy_id="42")
    event = AuditEvent.objects.get()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def _at(moment: datetime, name: str, reason: str = "") -> None:
    audit.record(name, reason=reason)
    AuditEvent.objects.filter(pk=AuditEvent.objects.latest("pk").pk).update(occurred_at=moment)


def test_export_writes_json_lines_filtered_by_time_and_event(tmp_path):
    day = datetime(2026, 11, 1, tzinfo=UTC)
    _at(day - timedelta(seconds=1), "login.failed", "mismatch")
    _at(day, "login.failed", "unknown_user")
    _at(day + timedelta(hours=1), "token.issued", "authorization_code")
    _at(day + timedelta(hours=2), "consent.granted")
    _at(day + timedelta(days=1), "login.succeeded", "ok")

    out = io.StringIO()
    call_command("audit_export", "--since", "2026-11-01", "--until", "2026-11-02", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["event"], line["reason"]) for line in lines] == [
        ("login.failed", "unknown_user"),
        ("token.issued", "authorization_code"),
        ("consent.granted", ""),
    ]
    assert lines[0]["occurred_at"] == "2026-11-01T00:00:00Z"
    assert set(lines[0]) == {
        "id", "occurred_at", "event", "reason", "legacy_id", "user_id", "client_id", "ip_address", "details"
    }  # fmt: skip

    target = tmp_path / "audit.jsonl"
    call_command("audit_export", "--event", "login.*", "--event", "consent.granted", "--output", str(target))
    assert [json.loads(line)["event"] for line in target.read_text().splitlines()] == [
        "login.failed",
        "login.failed",
        "consent.granted",
        "login.succeeded",
    ]


def test_export_names_a_bad_date():
    with pytest.raises(CommandError, match="not a date"):
        call_command("audit_export", "--since", "last tuesday", stdout=io.StringIO())


def test_the_admin_finds_events_by_address_and_filters_by_event(django_user_model):
    from django.test import Client

    audit.record("login.failed", reason="mismatch", legacy_id="42", ip_address="192.0.2.77")
    audit.record("login.failed", reason="unknown_user", ip_address="198.51.100.1")
    audit.record("token.issued", reason="authorization_code", client_id="globus")
    staff = Client()
    admin = django_user_model.objects.create_superuser("admin", "admin@example.org", "admin-pass")
    staff.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("admin:audit_auditevent_changelist")
    by_address = staff.get(url, {"q": "192.0.2.77"}).context["cl"].result_list
    assert [event.reason for event in by_address] == ["mismatch"]
    by_event = staff.get(url, {"event": "token.issued"}).context["cl"].result_list
    assert [event.client_id for event in by_event] == ["globus"]


def test_a_replayed_code_revokes_what_it_issued_and_says_so(client, portal, make_client):
    from tests.oidc.test_token_path_performance import authorization_code, exchange

    portal.add_user("ajones", "correct horse")
    rp = make_client(trusted=True)
    sign_in_and_get_tokens(client, rp)
    code, verifier = authorization_code(client, rp)
    assert exchange(client, rp, code, verifier).status_code == 200
    assert exchange(client, rp, code, verifier).json()["error"] == "invalid_grant"
    replayed = AuditEvent.objects.get(event="token.revoked")
    assert (replayed.reason, replayed.client_id, replayed.details["revoked"]) == (
        "code_replayed",
        rp.client_id,
        2,
    )
