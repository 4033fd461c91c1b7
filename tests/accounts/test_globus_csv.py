"""CSV export and import of Globus links: the parser on its own (with hypothesis), then the commands
over real HTTP against the Globus Auth stand-in."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts import globus_csv, ledger
from accounts.globus import GlobusIdentity
from accounts.globus_links import link_identity
from accounts.models import GlobusIdentityLink
from audit.models import AuditEvent
from tests.factories.accounts import make_profile, make_profiles
from tests.globus_standin import BRIDGE_IDP, ELSEWHERE_IDP

IDENTITIES = "/v2/api/identities"
HEADER = "sub,identity_id\n"


# --- the parser, no database ------------------------------------------------------------------------
def parse(text: str) -> globus_csv.Parsed:
    return globus_csv.parse(io.StringIO(text, newline=""))


def rejected(parsed: globus_csv.Parsed) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in parsed.rejected]


def test_each_bad_row_is_rejected_with_its_line_number_and_reason():
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    text = (
        "sub,identity_id,effective\n"
        f"s1,{a},true\n"  # 2: fine
        "s2,not-a-uuid,true\n"  # 3
        f",{b},true\n"  # 4: no sub
        f"s3,{b},maybe\n"  # 5
        f"s4,{b},false\n"  # 6: fine, an identity on record that is not the effective one
        f"s5,{b}\n"  # 7: a field short
        "\n"  # 8: blank lines are skipped
        f"s1,{a},true\n"  # 9: the same link as line 2
        f'"s6\nstill s6",{c},true\n'  # 10-11: a quoted newline; the row starts on line 10
        f"s7,{c},true\n"  # 12: gives c to another account than line 10
    )
    parsed = parse(text)
    assert [(row.line, row.effective) for row in parsed.rows] == [(2, True), (6, False)]
    assert rejected(parsed) == [
        (3, "bad_identity_id"),
        (4, "missing_sub"),
        (5, "bad_effective"),
        (7, "wrong_field_count"),
        (9, "duplicate_row"),
        (10, "conflicting_rows"),
        (12, "conflicting_rows"),
    ]
    assert parsed.rejected[-1].detail == "contradicts line 10"


def test_a_header_without_the_required_columns_rejects_the_file():
    assert rejected(parse("sub,username\ns1,a@b\n")) == [(1, "missing_columns")]
    assert rejected(parse("")) == [(1, "empty_file")]


def test_two_effective_identities_for_one_account_are_both_rejected():
    text = f"{HEADER}s1,{uuid.uuid4()}\ns1,{uuid.uuid4()}\n"
    assert rejected(parse(text)) == [(2, "conflicting_rows"), (3, "conflicting_rows")]
    # One effective identity and others on record is how a person with several identities looks.
    text = f"sub,identity_id,effective\ns1,{uuid.uuid4()},true\ns1,{uuid.uuid4()},false\n"
    assert not parse(text).rejected


def test_an_unreadable_row_stops_the_parse_and_says_where():
    parsed = parse(f'{HEADER}s1,{uuid.uuid4()}\n"s2"x,{uuid.uuid4()}\ns3,{uuid.uuid4()}\n')
    assert [row.line for row in parsed.rows] == [2]
    assert rejected(parsed) == [(3, "unreadable")]


# Cells as an administrator would type them: no surrounding whitespace (the parser strips it).
# Cells as an administrator would type them: no surrounding whitespace (the parser strips it), and
# often starting like a formula or with an apostrophe.
cell = (
    st.tuples(
        st.sampled_from(["", "'", "''", "=", "'=", "+", "-", "@"]),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10),
    )
    .map("".join)
    .filter(lambda s: s == s.strip())
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_the_parser_never_raises_whatever_the_input(text):
    parsed = parse(text)
    for row in parsed.rows:
        assert globus_csv.UUID_TEXT.fullmatch(row.identity_id) and row.sub


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(cell.filter(bool), cell, cell), max_size=8, unique_by=lambda t: t[0]))
def test_what_the_writer_protects_the_parser_reads_back(rows):
    # Cells that start like a spreadsheet formula are written with an apostrophe and read back intact.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sub", "identity_id", "username", "identity_status"])
    expected = []
    for sub, username, status in rows:
        identity_id = str(uuid.uuid4())
        writer.writerow([globus_csv.protect(v) for v in (sub, identity_id, username, status)])
        expected.append((sub, identity_id, username.lower(), status))
    parsed = parse(out.getvalue())
    assert not parsed.rejected
    assert [(r.sub, r.identity_id, r.username, r.identity_status) for r in parsed.rows] == expected


# --- the commands -----------------------------------------------------------------------------------
def export() -> str:
    out = io.StringIO()
    call_command("globus_links_export", stdout=out)
    return out.getvalue()


def import_csv(tmp_path, text: str, *args: str) -> str:
    path = tmp_path / "links.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "globus_links_import", str(path), *args, "--retry-delay", "0.01", stdout=out, stderr=io.StringIO()
    )
    return out.getvalue()


def identity_of(standin, username: str, **fields) -> GlobusIdentity:
    raw = standin.add_identity(f"{username}@portal.example.edu", fields.pop("provider", BRIDGE_IDP), **fields)
    return GlobusIdentity(raw.id, raw.username, raw.identity_provider, raw.status)


def admin_link(profile, identity):
    return link_identity(profile, identity, method="admin", proof="admin_assertion", actor="test").link


@pytest.mark.django_db
def test_the_export_has_the_documented_columns_and_defuses_spreadsheet_formulas(globus_auth):
    profile = make_profile("=cmd|calc")
    identity = identity_of(globus_auth, "=cmd|calc")
    link = admin_link(profile, identity)
    rows = list(csv.reader(io.StringIO(export())))
    assert tuple(rows[0]) == globus_csv.EXPORT_COLUMNS
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["sub"] == profile.subject.sub and values["identity_id"] == identity.id
    assert values["legacy_username"] == "'=cmd|calc" and values["username"] == "'=cmd|calc@portal.example.edu"
    assert values["method"] == "admin" and values["effective"] == "true"
    assert values["created_at"] == link.created_at.isoformat() and values["verified_at"] == ""


@pytest.mark.django_db
def test_an_export_imports_back_after_the_links_are_gone(globus_auth, tmp_path):
    for name in ("ajones", "bsmith"):
        admin_link(make_profile(name), identity_of(globus_auth, name))
    # Another identity of Alice's, from another provider, kept on record (not effective).
    raw = globus_auth.add_identity("alice@elsewhere.edu", ELSEWHERE_IDP)
    alice = GlobusIdentityLink.objects.get(username="ajones@portal.example.edu").subject.profile
    other = GlobusIdentity(raw.id, raw.username, raw.identity_provider, raw.status)
    link_identity(alice, other, method="admin", proof="admin_assertion", effective=False)
    before = set(GlobusIdentityLink.objects.values_list("subject_id", "identity_id", "effective"))
    text = export()
    GlobusIdentityLink.objects.all().delete()
    out = import_csv(tmp_path, text)
    assert out.strip() == "3 rows: 3 linked, 0 unchanged, 0 rejected"
    assert set(GlobusIdentityLink.objects.values_list("subject_id", "identity_id", "effective")) == before
    assert set(GlobusIdentityLink.objects.values_list("method", "proof")) == {("import", "admin_assertion")}
    event = AuditEvent.objects.get(event="globus.import")
    assert (event.details["applied"], event.details["file"], event.reason) == (
        3,
        "links.csv",
        "checked_at_globus",
    )
    assert AuditEvent.objects.filter(event="globus.link", reason="import").count() == 3
    # Importing it again changes nothing.
    assert import_csv(tmp_path, text).strip() == "3 rows: 0 linked, 3 unchanged, 0 rejected"
    assert GlobusIdentityLink.objects.count() == 3


@pytest.mark.django_db
def test_a_row_never_demotes_an_effective_link(globus_auth, tmp_path):
    profile = make_profile("ajones")
    identity = identity_of(globus_auth, "ajones")
    admin_link(profile, identity)
    out = import_csv(tmp_path, f"sub,identity_id,effective\n{profile.subject.sub},{identity.id},false\n")
    assert "line 2: rejected: would_demote_effective" in out
    assert GlobusIdentityLink.objects.get().effective is True


@pytest.mark.django_db
def test_rows_that_fail_the_policy_or_clash_with_links_are_rejected_and_the_rest_linked(
    globus_auth, tmp_path
):
    good, other = make_profile("good"), make_profile("other")
    closed, stranger, taken = make_profile("closed"), make_profile("stranger"), make_profile("taken")
    already = make_profile("already")
    gone = make_profile("reused", legacy_id="old")  # deleted from the portal; its username reused
    good_id = identity_of(globus_auth, "good")
    closed_id = identity_of(globus_auth, "closed", status="closed")
    stranger_id = identity_of(globus_auth, "stranger", provider=ELSEWHERE_IDP)
    taken_id = identity_of(globus_auth, "taken")
    admin_link(taken, taken_id)
    admin_link(already, identity_of(globus_auth, "already"))
    reused_id = identity_of(globus_auth, "reused")
    admin_link(gone, reused_id)
    ledger.tombstone("old", reason="test")
    reused = make_profile("reused", legacy_id="new")
    text = "sub,identity_id\n" + "\n".join(
        [
            f"{good.subject.sub},{good_id.id}",  # 2: linked
            f"{other.subject.sub},{identity_of(globus_auth, 'someone').id}",  # 3: another person's identity
            f"{closed.subject.sub},{closed_id.id}",  # 4
            f"{stranger.subject.sub},{stranger_id.id}",  # 5
            f"{already.subject.sub},{taken_id.id}",  # 6: another person's, and linked to them
            f"{reused.subject.sub},{reused_id.id}",  # 7: still linked to the deleted account
            f"no-such-sub,{uuid.uuid4()}",  # 8
            f"{taken.subject.sub},{uuid.uuid4()}",  # 9: Globus does not know it
            f"{good.subject.sub},{{oops}}",  # 10
        ]
    )
    out = import_csv(tmp_path, text + "\n")
    assert out.splitlines() == [
        "line 3: rejected: username_mismatch (identity someone@portal.example.edu (used); "
        "expected other@portal.example.edu)",
        "line 4: rejected: identity_closed (identity closed@portal.example.edu (closed); "
        "expected closed@portal.example.edu)",
        "line 5: rejected: other_provider (identity stranger@portal.example.edu (used); "
        "expected stranger@portal.example.edu)",
        "line 6: rejected: username_mismatch (identity taken@portal.example.edu (used); "
        "expected already@portal.example.edu)",
        "line 7: rejected: linked_to_another_account (identity reused@portal.example.edu (used); "
        "expected reused@portal.example.edu)",
        "line 8: rejected: unknown_subject (no live account with this sub)",
        "line 9: rejected: identity_not_found (Globus does not know this id)",
        "line 10: rejected: bad_identity_id (not a UUID (8-4-4-4-12 hexadecimal digits))",
        "9 rows: 1 linked, 0 unchanged, 8 rejected",
    ]
    assert str(GlobusIdentityLink.objects.get(subject=good.subject).identity_id) == good_id.id
    assert GlobusIdentityLink.objects.count() == 4
    assert AuditEvent.objects.get(event="globus.import").details["rejected_lines"][0] == [
        3,
        "username_mismatch",
    ]


@pytest.mark.django_db
def test_a_dry_run_validates_and_writes_nothing(globus_auth, tmp_path):
    profile = make_profile("ajones")
    identity = identity_of(globus_auth, "ajones")
    out = import_csv(tmp_path, f"{HEADER}{profile.subject.sub},{identity.id}\n", "--dry-run")
    assert f"line 2: would link ajones@portal.example.edu ({identity.id})" in out
    assert "Dry run (nothing written)" in out
    assert not GlobusIdentityLink.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_more_than_100_rows_are_checked_at_globus_in_batches_and_applied_per_transaction(
    globus_auth, tmp_path
):
    profiles = make_profiles(130)
    text = HEADER + "".join(
        f"{p.subject.sub},{identity_of(globus_auth, p.legacy_username).id}\n" for p in profiles
    )
    out = import_csv(tmp_path, text, "--batch-size", "50")
    assert out.strip() == "130 rows: 130 linked, 0 unchanged, 0 rejected"
    lookups = [p["ids"][0].split(",") for _, path, p in globus_auth.seen if path == IDENTITIES]
    assert [len(batch) for batch in lookups] == [100, 30]


@pytest.mark.django_db
def test_offline_trusts_the_file_but_still_applies_the_policy(globus_auth, tmp_path):
    a, b, c = make_profile("ajones"), make_profile("bsmith"), make_profile("csmith")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    text = (
        "sub,identity_id,username,identity_provider,identity_status\n"
        f"{a.subject.sub},{ids[0]},ajones@portal.example.edu,{BRIDGE_IDP},used\n"
        f"{b.subject.sub},{ids[1]},ajones@portal.example.edu,{BRIDGE_IDP},used\n"
        f"{c.subject.sub},{ids[2]},,,\n"
    )
    out = import_csv(tmp_path, text, "--offline")
    assert "line 3: rejected: username_mismatch" in out
    assert "line 4: rejected: offline_needs_identity" in out
    assert "3 rows: 1 linked, 0 unchanged, 2 rejected" in out
    assert not [path for _, path, _ in globus_auth.seen if path == IDENTITIES]
    assert AuditEvent.objects.get(event="globus.import").reason == "offline"


@pytest.mark.django_db
def test_globus_down_during_validation_imports_nothing(globus_auth, tmp_path):
    profile = make_profile("ajones")
    identity = identity_of(globus_auth, "ajones")
    globus_auth.fail(503, (IDENTITIES,))
    with pytest.raises(CommandError, match="Nothing was imported"):
        import_csv(tmp_path, f"{HEADER}{profile.subject.sub},{identity.id}\n", "--retries", "1")
    assert not GlobusIdentityLink.objects.exists()


@pytest.mark.django_db
def test_a_link_refused_at_the_last_moment_rolls_back_its_batch_only(globus_auth):
    profiles = make_profiles(4)
    identities = [identity_of(globus_auth, p.legacy_username) for p in profiles]
    text = HEADER + "".join(f"{p.subject.sub},{i.id}\n" for p, i in zip(profiles, identities, strict=True))
    from accounts.globus import IdentityDirectory

    report = globus_csv.validate(parse(text), directory=IdentityDirectory())
    assert len(report.planned) == 4
    # Between validation and applying, someone links the second row's account elsewhere.
    admin_link(profiles[1], identity_of(globus_auth, profiles[1].legacy_username))
    globus_csv.apply(report, batch_size=2, actor="test")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "batch_rolled_back"),
        (3, "another_identity_linked"),
    ]
    assert [p.row.line for p in report.applied] == [4, 5]
    linked = set(GlobusIdentityLink.objects.filter(method="import").values_list("identity_id", flat=True))
    assert {str(i) for i in linked} == {identities[2].id, identities[3].id}
    assert (
        AuditEvent.objects.filter(event="globus.link_refused", reason="another_identity_linked").count() == 1
    )
