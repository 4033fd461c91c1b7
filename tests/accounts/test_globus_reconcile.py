"""``globus_reconcile`` over real HTTP against the Globus Auth stand-in: every category, every format."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts import ledger
from accounts.globus import GlobusIdentity
from accounts.globus_links import link_identity
from audit.models import AuditEvent
from tests.factories.accounts import make_profile, make_profiles
from tests.globus_standin import BRIDGE_IDP, ELSEWHERE_IDP

pytestmark = pytest.mark.django_db
IDENTITIES = "/v2/api/identities"


def reconcile(*args: str) -> str:
    out = io.StringIO()
    call_command("globus_reconcile", *args, "--retry-delay", "0.01", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def linked(standin, username: str, *, legacy_id: str | None = None, status: str = "used"):
    """An account linked to its Globus identity; returns the stand-in's identity to change later."""
    profile = make_profile(username, legacy_id=legacy_id)
    raw = standin.add_identity(f"{username}@portal.example.edu", BRIDGE_IDP, status=status)
    identity = GlobusIdentity(raw.id, raw.username, raw.identity_provider, raw.status)
    link_identity(profile, identity, method="admin", proof="admin_assertion", actor="test")
    return raw


@pytest.fixture
def drifted(globus_auth):
    """One account for each way links and Globus drift apart, and one that is fine."""
    make_profile("unlinked")
    linked(globus_auth, "fine")
    linked(globus_auth, "renamed").username = "someone@portal.example.edu"
    linked(globus_auth, "closed").status = "closed"
    linked(globus_auth, "fresh", status="unused")
    linked(globus_auth, "moved").identity_provider = ELSEWHERE_IDP
    reused = linked(globus_auth, "reused")
    newcomer = globus_auth.add_identity("reused@portal.example.edu", BRIDGE_IDP)
    del globus_auth.identities[linked(globus_auth, "vanished").id]
    linked(globus_auth, "gone", legacy_id="old")
    ledger.tombstone("old", reason="test")
    make_profile("dup", legacy_id="10"), make_profile("DUP", legacy_id="11")
    return {"reused": reused, "newcomer": newcomer}


def test_the_text_report_lists_every_category_with_its_accounts(drifted):
    events = AuditEvent.objects.count()
    out = reconcile()
    assert out.splitlines()[0] == "Accounts: 10, Globus links: 8, problems: 12"
    section = {line.split(" (")[0]: line for line in out.splitlines() if not line.startswith(" ")}
    assert section["unlinked"].startswith("unlinked (problem, 3)")
    assert section["identity_not_used"].startswith("identity_not_used (notice, 1)")
    for category, n in [
        ("username_changed", 1),
        ("username_mismatch", 1),
        ("identity_closed", 1),
        ("provider_mismatch", 1),
        ("username_reused", 1),
        ("identity_not_found", 1),
        ("link_on_closed_account", 1),
        ("expected_by_two_accounts", 2),
    ]:
        assert section[category].startswith(f"{category} (problem, {n})"), section[category]
    assert "renamed@portal.example.edu when linked, someone@portal.example.edu now" in out
    assert f"reused@portal.example.edu is now identity {drifted['newcomer'].id}" in out
    assert "legacy ids 10, 11 all expect dup@portal.example.edu" in out
    assert "fine@" not in out
    assert AuditEvent.objects.count() == events, "a report writes nothing"


def test_json_and_csv_carry_the_same_findings(drifted):
    body = json.loads(reconcile("--json"))
    assert body["problems"] == 12 and body["categories"]["identity_not_used"]["problem"] is False
    reused = body["categories"]["username_reused"]["findings"][0]
    assert reused["legacy_username"] == "reused" and reused["identity_id"] == drifted["reused"].id
    rows = list(csv.DictReader(io.StringIO(reconcile("--csv"))))
    assert len(rows) == sum(len(c["findings"]) for c in body["categories"].values()) == 13
    assert {r["category"] for r in rows} >= {"unlinked", "identity_closed", "username_reused"}


def test_fail_on_problems_exits_non_zero_only_for_problems(globus_auth):
    linked(globus_auth, "fresh", status="unused")
    reconcile("--fail-on-problems")  # a notice only: exit status 0
    make_profile("unlinked")
    with pytest.raises(CommandError) as failed:
        reconcile("--fail-on-problems")
    assert failed.value.returncode == 1 and "1 problems" in str(failed.value)


def test_many_links_are_checked_in_batches_of_100(globus_auth):
    make_profiles(120)
    call_command("globus_map", stdout=io.StringIO(), stderr=io.StringIO())
    globus_auth.seen.clear()
    out = reconcile()
    assert "problems: 0" in out.splitlines()[0]
    assert "identity_not_used (notice, 120)" in out  # provisioned, never logged in yet
    lookups = [p for _, path, p in globus_auth.seen if path == IDENTITIES]
    assert [len(p["ids"][0].split(",")) for p in lookups if "ids" in p] == [100, 20]
    assert [len(p["usernames"][0].split(",")) for p in lookups if "usernames" in p] == [100, 20]
    assert all(p.get("provision") != ["true"] for p in lookups)


def test_globus_down_gives_a_clear_message(globus_auth):
    linked(globus_auth, "fine")
    globus_auth.fail(502, (IDENTITIES,))
    with pytest.raises(CommandError, match="Globus Auth could not be asked"):
        reconcile("--retries", "1")
