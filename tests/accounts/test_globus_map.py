"""``globus_map`` over real HTTP against the Globus Auth stand-in: batches, retries, outages, resuming."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.globus_mapping import Progress
from accounts.models import GlobusIdentityLink
from audit.models import AuditEvent
from tests.factories.accounts import make_profile, make_profiles
from tests.globus_standin import BRIDGE_IDP, ELSEWHERE_IDP

pytestmark = pytest.mark.django_db
IDENTITIES = "/v2/api/identities"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("globus_map", *args, "--retry-delay", "0.01", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def links() -> dict[str, tuple[str, str, str]]:
    return {
        link.subject.profile.legacy_username: (str(link.identity_id), link.method, link.proof)
        for link in GlobusIdentityLink.objects.select_related("subject__profile")
    }


def audit_reasons(event: str) -> list[str]:
    return sorted(AuditEvent.objects.filter(event=event).values_list("reason", flat=True))


def test_links_unlinked_accounts_provisioning_identities_globus_does_not_know_yet(globus_auth):
    existing = globus_auth.add_identity("bsmith@portal.example.edu", BRIDGE_IDP)
    make_profile("ajones"), make_profile("bsmith")
    out, _ = run()
    provisioned = globus_auth.current_holder("ajones@portal.example.edu")
    assert provisioned is not None and provisioned.status == "unused"
    assert links() == {
        "ajones": (provisioned.id, "admin", "admin_assertion"),
        "bsmith": (existing.id, "admin", "admin_assertion"),
    }
    assert "linked 2" in out
    assert audit_reasons("globus.link") == ["admin", "admin"]
    event = AuditEvent.objects.get(event="globus.map")
    assert event.details["outcomes"] == {"linked": 2} and event.details["actor"].startswith("globus_map")
    # As the bridge itself: a client-credentials token, then bearer calls (never the secret per call).
    grants = [p["grant_type"] for m, path, p in globus_auth.seen if path == "/v2/oauth2/token"]
    assert grants == [["client_credentials"]]
    assert globus_auth.api_auth == ["bearer"]


def test_a_second_run_changes_nothing(globus_auth):
    make_profile("ajones"), make_profile("bsmith")
    run()
    before = (links(), AuditEvent.objects.count())
    out, _ = run()
    assert "nothing to do" in out
    out, _ = run("--all")
    assert "unchanged 2" in out
    assert (links(), AuditEvent.objects.count()) == before


def test_a_dry_run_reports_and_writes_and_provisions_nothing(globus_auth):
    known = globus_auth.add_identity("bsmith@portal.example.edu", BRIDGE_IDP)
    globus_auth.add_identity("csmith@portal.example.edu", BRIDGE_IDP, status="closed")
    make_profile("ajones"), make_profile("bsmith"), make_profile("csmith")
    identities_before = dict(globus_auth.identities)
    out, _ = run("--dry-run")
    assert "would_provision  ajones@portal.example.edu" in out
    assert f"would_link       bsmith@portal.example.edu -> {known.id}" in out
    assert "would_refuse     csmith@portal.example.edu" in out and "identity_closed" in out
    assert out.strip().endswith("Dry run (nothing written): would_link 1, would_provision 1, would_refuse 1")
    assert not GlobusIdentityLink.objects.exists() and not AuditEvent.objects.exists()
    assert globus_auth.identities == identities_before
    assert all(p.get("provision") != ["true"] for _, path, p in globus_auth.seen if path == IDENTITIES)


def test_more_than_100_accounts_go_in_batches_globus_accepts(globus_auth):
    make_profiles(230)
    out, err = run()
    lookups = [p["usernames"][0].split(",") for _, path, p in globus_auth.seen if path == IDENTITIES]
    assert [len(batch) for batch in lookups] == [100, 100, 30]
    assert GlobusIdentityLink.objects.filter(method="admin").count() == 230
    assert "linked 230" in out
    # Not a terminal: one plain progress line per batch, no carriage returns.
    assert err.splitlines() == ["100/230 accounts", "200/230 accounts", "230/230 accounts"]


def test_refusals_are_reported_with_reasons_and_audited(globus_auth):
    globus_auth.add_identity("closed@portal.example.edu", BRIDGE_IDP, status="closed")
    globus_auth.add_identity("stranger@portal.example.edu", ELSEWHERE_IDP)  # our domain, another IdP
    make_profile("closed"), make_profile("stranger")
    make_profile("ajones", legacy_id="7"), make_profile("AJones", legacy_id="8")  # the same username
    out, _ = run()
    assert not GlobusIdentityLink.objects.exists()
    assert "closed@portal.example.edu" in out and "identity_closed" in out
    assert "stranger@portal.example.edu" in out and "other_provider" in out
    assert out.count("username_conflict") == 2
    assert audit_reasons("globus.link_refused") == [
        "identity_closed",
        "other_provider",
        "username_conflict",
        "username_conflict",
    ]
    conflict_lookup = next(p for _, path, p in globus_auth.seen if path == IDENTITIES)["usernames"][0]
    assert "ajones" not in conflict_lookup, "an ambiguous username is never even looked up"
    # Re-running reports the same refusals but does not write them again.
    events = AuditEvent.objects.count()
    again, _ = run()
    assert again == out and AuditEvent.objects.count() == events


def test_a_username_reused_by_a_new_identity_never_moves_an_existing_link(globus_auth):
    old = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    make_profile("ajones")
    run()
    new = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)  # now holds the username
    out, _ = run("--all")
    assert links()["ajones"][0] == old.id
    assert f"ajones@portal.example.edu ({new.id}): another_identity_linked" in out
    assert audit_reasons("globus.link_refused") == ["another_identity_linked"]


def test_only_the_named_accounts_with_usernames(globus_auth):
    make_profile("ajones"), make_profile("bsmith"), make_profile("csmith")
    run("--usernames", "AJones, csmith")
    assert sorted(links()) == ["ajones", "csmith"]


def test_a_429_is_retried_after_the_delay_globus_asks_for(globus_auth):
    make_profile("ajones")
    globus_auth.fail_next(429, IDENTITIES, retry_after=1)
    out, err = run()
    first, second = globus_auth.calls(IDENTITIES)
    assert second - first >= 0.95
    assert "Globus Auth answered 429; retrying in 1.0s" in err
    assert "linked 1" in out


def test_server_errors_are_retried_with_backoff_until_globus_answers(globus_auth):
    make_profile("ajones")
    globus_auth.fail_next(500, IDENTITIES, times=2)
    out, err = run()
    assert len(globus_auth.calls(IDENTITIES)) == 3
    assert err.count("Globus Auth answered 500; retrying in") == 2
    assert "linked 1" in out


def test_globus_down_stops_cleanly_and_resume_continues_after_the_last_saved_batch(globus_auth, tmp_path):
    make_profiles(5)
    checkpoint = tmp_path / "map.checkpoint"
    globus_auth.fail_next(503, IDENTITIES, times=99, after=1)  # the first batch passes, then an outage
    with pytest.raises(CommandError) as stopped:
        run("--batch-size", "2", "--retries", "2", "--checkpoint", str(checkpoint))
    message = str(stopped.value)
    assert "Globus Auth is not answering" in message and "re-run with --resume" in message
    assert sorted(links()) == ["user0000", "user0001"], "the first batch is saved, nothing of the second"
    saved = json.loads(checkpoint.read_text())
    assert saved["counts"] == {"linked": 2}
    globus_auth.queued_failures.clear()
    out, _ = run("--batch-size", "2", "--checkpoint", str(checkpoint), "--resume")
    assert len(links()) == 5 and "linked 3" in out
    assert not checkpoint.exists(), "a finished run leaves nothing to resume"
    with pytest.raises(CommandError, match="no checkpoint"):
        run("--checkpoint", str(checkpoint), "--resume")


def test_resume_refuses_a_checkpoint_of_another_selection(globus_auth, tmp_path):
    checkpoint = tmp_path / "map.checkpoint"
    checkpoint.write_text(json.dumps({"selection": {"all": True}, "after_subject": 3}))
    with pytest.raises(CommandError, match="another selection"):
        run("--checkpoint", str(checkpoint), "--resume")


def test_wrong_credentials_are_named(globus_auth, settings):
    make_profile("ajones")
    settings.BRIDGE_GLOBUS_CLIENT_SECRET = "not-the-secret-" + "x" * 20
    with pytest.raises(CommandError, match="refused the bridge's credentials"):
        run()
    assert not GlobusIdentityLink.objects.exists()


def test_without_globus_settings_it_says_which(settings):
    settings.BRIDGE_GLOBUS_CLIENT_ID = ""
    with pytest.raises(CommandError, match="BRIDGE_GLOBUS_CLIENT_ID"):
        run()


def test_on_a_terminal_the_progress_bar_is_redrawn_in_place():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(200, "accounts", stream=screen)
    progress.advance(100)
    progress.note("Globus Auth answered 429; retrying in 1.0s")
    progress.advance(100)
    progress.finish()
    assert screen.getvalue() == (
        "\r[###############...............] 100/200 accounts\n"
        "Globus Auth answered 429; retrying in 1.0s\n"
        "\r[##############################] 200/200 accounts\n"
    )
