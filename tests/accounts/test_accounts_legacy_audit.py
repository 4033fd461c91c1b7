"""`manage.py legacy_audit`: what campus IT learns before go-live, and what --record changes."""

import io
import json

import pytest
from django.core.management import call_command

from accounts.authentication import check_legacy_credentials
from accounts.models import Subject, UsernameConflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def messy_portal(portal):
    portal.add_user("alice", "pw-alice-1", scheme="bcrypt")
    portal.add_user("bob", "pw-bob-1", scheme="phpass", email="", institution=None)
    portal.add_user("carol smith", "pw-carol", scheme="sha512_crypt", first_name=None, last_name=None)
    portal.add_user("dave", "x", pass_hash="{NOPE}abc")
    portal.add_user("ajones", "pw-1", status=0)
    portal.add_user("AJones", "pw-2")
    return portal


def run_audit(*args: str) -> str:
    out = io.StringIO()
    call_command("legacy_audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_report_counts_schemes_states_missing_claims_and_collisions(messy_portal, tmp_path):
    out = run_audit("--json", str(tmp_path / "report.json"), "--csv", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["total"] == 6
    assert report["states"] == {"active": 5, "inactive": 1}
    assert report["schemes"]["bcrypt"] == 3 and report["schemes"]["phpass"] == 1
    assert report["unsupported_schemes"] == {"(unknown format)": 1}
    assert report["missing_claims"]["no_email"] == 1 and report["missing_claims"]["no_organization"] == 1
    assert report["missing_claims"]["no_name"] == 1
    assert report["missing_claims"]["username_not_valid_in_user@domain"] == 1  # "carol smith"
    assert list(report["collisions"]) == ["ajones"]
    assert "UNSUPPORTED" in out and "ajones: ajones (id 5), AJones (id 6)" in out
    assert (tmp_path / "accounts.csv").read_text().count("\n") == 1 + 3  # bob, carol, dave
    assert "ajones" in (tmp_path / "collisions.csv").read_text()


def test_a_dry_run_changes_nothing_and_record_writes_conflicts_and_tombstones(messy_portal):
    check_legacy_credentials("alice", "pw-alice-1")
    messy_portal.delete(1)  # alice's row disappears from the portal
    run_audit()
    assert not UsernameConflict.objects.exists() and Subject.objects.get().tombstoned_at is None
    out = run_audit("--record")
    assert "Recorded 1 conflict(s) and 1 tombstone(s)." in out
    assert UsernameConflict.objects.get().legacy_ids == ["5", "6"]
    assert Subject.objects.get(legacy_id="1").tombstoned_at is not None


def test_the_passwords_and_hashes_never_reach_the_report(messy_portal, tmp_path):
    run_audit("--json", str(tmp_path / "r.json"), "--csv", str(tmp_path))
    everything = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "pw-alice-1" not in everything and "$2y$" not in everything and "{NOPE}" not in everything


def test_the_deploy_check_reminds_until_an_audit_is_recorded(messy_portal):
    from accounts.checks import legacy_audit_recency_check

    assert [m.id for m in legacy_audit_recency_check(None)] == ["accounts.I001"]
    run_audit("--record")
    assert legacy_audit_recency_check(None) == []
