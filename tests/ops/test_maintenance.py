"""The maintenance commands campus IT schedules: token cleanup, key rotation, audit retention."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.utils import timezone

import audit
from audit.models import AppendOnlyError, AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **options: object) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


# --- audit retention ----------------------------------------------------------------------------


def test_audit_retention_deletes_old_events_in_batches_and_records_that_it_ran():
    for n in range(7):
        audit.record("login.failed", reason="mismatch", legacy_id=str(n))
    AuditEvent.objects.update(occurred_at=timezone.now() - timedelta(days=400))
    for n in range(3):
        audit.record("login.succeeded", reason="ok", legacy_id=f"recent-{n}")

    assert "Would delete 7" in run("audit_retention", days=365, dry_run=True)
    assert AuditEvent.objects.count() == 10
    output = run("audit_retention", days=365, batch_size=2)

    assert "Deleted 7 audit events" in output
    assert sorted(AuditEvent.objects.values_list("legacy_id", flat=True)) == [
        "",
        "recent-0",
        "recent-1",
        "recent-2",
    ]
    receipt = AuditEvent.objects.get(event="audit.retention")
    assert receipt.details["deleted"] == 7 and receipt.details["days"] == 365
    assert run("audit_retention", days=365).startswith("Deleted 0 audit events")


def test_audit_events_still_cannot_be_deleted_one_by_one():
    audit.record("login.failed", reason="mismatch")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.get().delete()


@pytest.mark.parametrize(
    "options",
    [
        {"days": 0},
        {"days": -5},
        {"days": 30, "batch_size": 0},
        # one bind parameter per id, and PostgreSQL takes at most 65,535 in a statement
        {"days": 30, "batch_size": 65_536},
    ],
)
def test_audit_retention_refuses_nonsense(options):
    audit.record("login.failed", reason="mismatch")
    with pytest.raises(CommandError):
        run("audit_retention", **options)
    assert AuditEvent.objects.count() == 1


# --- scheduled key rotation ---------------------------------------------------------------------


def jwks_kids(client) -> list[str]:
    return [key["kid"] for key in client.get("/jwks").json()["keys"]]


def backdate(**changes: object) -> None:
    from oidc.models import SigningKey

    state = changes.pop("state")
    SigningKey.objects.filter(state=state).update(**changes)


def test_scheduled_rotation_walks_the_whole_cycle_one_step_per_run(client):
    from oidc.keys import JWKS_MAX_AGE_SECONDS
    from oidc.models import SigningKey

    rotate = lambda: run("scheduled_key_rotation", max_age_days=90)  # noqa: E731
    SigningKey.objects.all().delete()  # (migrate makes the first key; start from none)
    assert "created the first signing key" in rotate()
    first = SigningKey.objects.get(state="active").kid
    assert "nothing due" in rotate()

    long_ago = timezone.now() - timedelta(days=91)
    backdate(state="active", activated_at=long_ago, created_at=long_ago)
    assert "pre-published key" in rotate()
    upcoming = SigningKey.objects.get(state="next").kid
    assert jwks_kids(client) == [first, upcoming]  # published, not signing yet

    assert "activates on a run in" in rotate()  # too early: relying parties may not have it yet
    assert SigningKey.objects.get(state="active").kid == first

    backdate(state="next", created_at=timezone.now() - timedelta(seconds=JWKS_MAX_AGE_SECONDS + 1))
    assert f"activate key {upcoming}" in rotate()
    assert jwks_kids(client) == [upcoming, first]  # the new key first; the old one still published

    assert "nothing due" in rotate()
    backdate(state="retiring", retire_after=timezone.now() - timedelta(seconds=1))
    assert f"retire key {first}" in rotate()
    assert jwks_kids(client) == [upcoming]
    assert "nothing due" in rotate()

    events = list(AuditEvent.objects.filter(event__startswith="signing_key.").order_by("id"))
    assert [(e.event, e.details["kid"]) for e in events] == [
        ("signing_key.prepublished", upcoming),
        ("signing_key.activated", upcoming),
        ("signing_key.retired", first),
    ]


def test_scheduled_rotation_dry_run_changes_nothing():
    from oidc.keys import ensure_active_key
    from oidc.models import SigningKey

    ensure_active_key()
    backdate(state="active", activated_at=timezone.now() - timedelta(days=200))
    assert "would pre-publish" in run("scheduled_key_rotation", max_age_days=90, dry_run=True)
    assert not SigningKey.objects.filter(state="next").exists()


def test_scheduled_rotation_refuses_to_activate_before_relying_parties_can_have_the_key():
    with pytest.raises(CommandError, match="at least 600"):
        run("scheduled_key_rotation", publish_seconds=60)
    with pytest.raises(CommandError):
        run("scheduled_key_rotation", max_age_days=0)


# --- expired tokens and sessions ----------------------------------------------------------------


def test_cleartokens_and_clearsessions_remove_what_has_expired(make_client):
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from oidc.models import AccessToken, Application

    make_client()
    app = Application.objects.get()
    user = get_user_model().objects.create(username="someone")
    now = timezone.now()
    AccessToken.objects.create(
        user=user, application=app, token="expired-at", expires=now - timedelta(hours=2), scope="openid"
    )
    AccessToken.objects.create(
        user=user, application=app, token="live-at", expires=now + timedelta(hours=1), scope="openid"
    )
    old, live = SessionStore(), SessionStore()
    old.set_expiry(-60)
    old.create()
    live.create()

    call_command("cleartokens")
    call_command("clearsessions")

    assert list(AccessToken.objects.values_list("expires", flat=True)) == [now + timedelta(hours=1)]
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


# --- the documented schedule --------------------------------------------------------------------


def test_every_command_the_docs_and_timers_schedule_exists():
    scheduled = [ROOT / "docs" / "operations.md", *sorted((ROOT / "deploy").rglob("*"))]
    found: set[str] = set()
    for path in scheduled:
        if path.is_file() and path.suffix not in (".template",):
            found |= set(re.findall(r"\bmanage(?:\.py)? ([a-z_]+)", path.read_text()))
    assert {
        "cleartokens",
        "clearsessions",
        "scheduled_key_rotation",
        "audit_retention",
        "legacy_audit",
    } <= found
    unknown = found - set(get_commands())
    assert not unknown, f"documented but not a command: {sorted(unknown)}"
