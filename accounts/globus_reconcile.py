"""Reconciliation: where the bridge's Globus links and what Globus says now disagree.

Read-only: it asks Globus about every linked identity (by id) and about the expected username of
every linked account (by username, never provisioning), in batches of 100, and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.conf import settings

from accounts.globus import MAX_IDENTITIES_PER_CALL, GlobusIdentity, IdentityDirectory
from accounts.globus_links import policy_username
from accounts.globus_mapping import batched, live_profiles
from accounts.models import GlobusIdentityLink, Profile

# category -> (is it a problem, what it means). Notices are listed but do not fail the report.
CATEGORIES: dict[str, tuple[bool, str]] = {
    "unlinked": (True, "live accounts without an effective Globus link"),
    "identity_not_found": (True, "linked identity ids Globus does not know"),
    "username_changed": (True, "the identity's Globus username is not the username at link time"),
    "username_mismatch": (
        True,
        "an effective identity's Globus username is not the expected username@domain",
    ),
    "provider_mismatch": (True, "an effective identity is not from this IdP"),
    "identity_closed": (True, "linked identities Globus has closed"),
    "username_reused": (True, "the expected username is now held by another identity than the linked one"),
    "expected_by_two_accounts": (True, "two live accounts expect the same Globus username (identity)"),
    "link_on_closed_account": (True, "links of accounts deleted from the portal (tombstoned subjects)"),
    "identity_not_used": (False, "linked identities not used yet (status unused or private)"),
}


@dataclass(frozen=True)
class Finding:
    category: str
    sub: str
    legacy_id: str
    legacy_username: str = ""
    expected_username: str = ""
    identity_id: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Reconciliation:
    findings: list[Finding] = field(default_factory=list)
    accounts: int = 0
    links: int = 0

    def by_category(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {category: [] for category in CATEGORIES}
        for finding in self.findings:
            grouped[finding.category].append(finding)
        return grouped

    def problems(self) -> int:
        return sum(1 for f in self.findings if CATEGORIES[f.category][0])


def reconcile(directory: IdentityDirectory) -> Reconciliation:
    report = Reconciliation()
    profiles = list(live_profiles())
    report.accounts = len(profiles)
    links = list(GlobusIdentityLink.objects.select_related("subject").order_by("subject_id", "identity_id"))
    report.links = len(links)
    profile_of = {p.subject_id: p for p in profiles}
    effective = {link.subject_id: link for link in links if link.effective}
    _expected_twice(profiles, report)
    for profile in profiles:
        if profile.subject_id not in effective:
            report.findings.append(_finding("unlinked", profile))
    current = directory.current_by_ids([str(link.identity_id) for link in links])
    for link in links:
        _check_link(link, profile_of.get(link.subject_id), current.get(str(link.identity_id)), report)
    _reused(
        [(p, effective[p.subject_id]) for p in profiles if p.subject_id in effective],
        directory,
        report,
    )
    return report


def _expected_twice(profiles: Sequence[Profile], report: Reconciliation) -> None:
    by_username: dict[str, list[Profile]] = defaultdict(list)
    for profile in profiles:
        by_username[policy_username(profile)].append(profile)
    for username, holders in sorted(by_username.items()):
        if len(holders) > 1:
            others = ", ".join(h.subject.legacy_id for h in holders)
            for holder in holders:
                report.findings.append(
                    _finding(
                        "expected_by_two_accounts",
                        holder,
                        detail=f"legacy ids {others} all expect {username}",
                    )
                )


def _check_link(
    link: GlobusIdentityLink, profile: Profile | None, now: GlobusIdentity | None, report: Reconciliation
) -> None:
    def add(category: str, detail: str = "") -> None:
        report.findings.append(
            Finding(
                category=category,
                sub=link.subject.sub,
                legacy_id=link.subject.legacy_id,
                legacy_username=profile.legacy_username if profile is not None else "",
                expected_username=policy_username(profile) if profile is not None else "",
                identity_id=str(link.identity_id),
                detail=detail,
            )
        )

    if profile is None:
        add("link_on_closed_account", f"{link.username} is still linked to a deleted account")
    if now is None:
        add("identity_not_found", f"linked as {link.username}")
        return
    if now.username != link.username:
        add("username_changed", f"{link.username} when linked, {now.username} now")
    if link.effective and profile is not None:
        if now.username != policy_username(profile):
            add("username_mismatch", f"{now.username} at Globus, {policy_username(profile)} expected")
        if now.identity_provider != settings.BRIDGE_GLOBUS_IDP_ID.lower():
            add("provider_mismatch", f"identity provider {now.identity_provider}")
    if now.status == "closed":
        add("identity_closed", f"{now.username} is closed")
    elif now.status != "used":
        add("identity_not_used", f"{now.username} is {now.status or 'of unknown status'}")


def _reused(
    linked: list[tuple[Profile, GlobusIdentityLink]], directory: IdentityDirectory, report: Reconciliation
) -> None:
    holders: dict[str, GlobusIdentity] = {}
    usernames = sorted({policy_username(profile) for profile, _ in linked})
    for batch in batched(usernames, MAX_IDENTITIES_PER_CALL):
        holders.update((i.username, i) for i in directory.by_usernames(batch, provision=False))
    for profile, link in linked:
        holder = holders.get(policy_username(profile))
        if holder is not None and holder.id != str(link.identity_id):
            report.findings.append(
                _finding(
                    "username_reused",
                    profile,
                    identity_id=str(link.identity_id),
                    detail=f"{holder.username} is now identity {holder.id}",
                )
            )


def _finding(category: str, profile: Profile, *, identity_id: str = "", detail: str = "") -> Finding:
    return Finding(
        category=category,
        sub=profile.subject.sub,
        legacy_id=profile.subject.legacy_id,
        legacy_username=profile.legacy_username,
        expected_username=policy_username(profile),
        identity_id=identity_id,
        detail=detail,
    )
