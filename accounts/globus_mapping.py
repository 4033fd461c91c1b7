"""Mapping portal accounts to Globus identities in bulk (``globus_map``), and what the other admin
mapping tools (CSV import and export, reconciliation) share with it.

Every link is made through ``accounts.globus_links.link_identity``: the strict policy applies to
bulk links exactly as to self-service ones, and each link or refusal is an audit event. This module
only decides *which* identity to offer for which account, in batches Globus accepts.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from django.db import transaction
from django.db.models import Count, QuerySet

from accounts import ledger
from accounts.globus import MAX_IDENTITIES_PER_CALL, GlobusIdentity, IdentityDirectory
from accounts.globus_links import (
    ANOTHER_IDENTITY_LINKED,
    LINKED_TO_ANOTHER_ACCOUNT,
    LinkRefused,
    link_identity,
    policy_refusal,
    policy_username,
    record_refusal,
)
from accounts.models import GlobusIdentityLink, Profile, UsernameConflict
from audit.models import AuditEvent

T = TypeVar("T")

# Reason codes of this module (the policy's own codes come from accounts.globus_links).
USERNAME_CONFLICT = "username_conflict"  # two live accounts would expect the same Globus username
NOT_AT_GLOBUS = "not_at_globus"  # Globus neither knows nor provisioned the username
WOULD_DEMOTE_EFFECTIVE = "would_demote_effective"  # "not effective" for the account's effective link


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def live_profiles() -> QuerySet[Profile]:
    """Profiles of live subjects, in the stable order every bulk tool walks them (by subject)."""
    return (
        Profile.objects.select_related("subject", "subject__username_override", "user")
        .filter(subject__tombstoned_at__isnull=True)
        .order_by("subject_id")
    )


def profiles_to_map(*, everyone: bool = False, usernames: Sequence[str] = ()) -> QuerySet[Profile]:
    """By default the live profiles without an effective link; ``usernames`` are legacy usernames
    (or an override), compared as the ledger compares them (NFKC, case-folded)."""
    profiles = live_profiles()
    if usernames:
        return profiles.filter(username_key__in={ledger.username_key(u) for u in usernames})
    if everyone:
        return profiles
    return profiles.exclude(subject__globus_links__effective=True)


def ambiguous_username_keys() -> set[str]:
    """Username keys two live profiles share, or that have an open conflict: never pick one of them."""
    shared = (
        Profile.objects.filter(subject__tombstoned_at__isnull=True)
        .values("username_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("username_key", flat=True)
    )
    open_conflicts = UsernameConflict.objects.filter(resolved_at__isnull=True).values_list(
        "username_key", flat=True
    )
    return set(shared) | set(open_conflicts)


def link_refusal(profile: Profile, identity: GlobusIdentity, *, effective: bool = True) -> str | None:
    """Why ``link_identity`` would refuse this link now (None: it would link), without writing.

    A non-effective link (another identity of the person, on record) is not held to the policy,
    but one identity still belongs to one account, and it never demotes the effective link.
    """
    refusal = policy_refusal(profile, identity) if effective else None
    if refusal is not None:
        return refusal
    holder = GlobusIdentityLink.objects.filter(identity_id=identity.id).values_list("subject_id", flat=True)
    if any(subject_id != profile.subject_id for subject_id in holder):
        return LINKED_TO_ANOTHER_ACCOUNT
    current = effective_identity_id(profile)
    if effective and current is not None and current != identity.id:
        return ANOTHER_IDENTITY_LINKED
    if not effective and current == identity.id:
        return WOULD_DEMOTE_EFFECTIVE
    return None


def effective_identity_id(profile: Profile) -> str | None:
    found = GlobusIdentityLink.objects.filter(subject_id=profile.subject_id, effective=True).values_list(
        "identity_id", flat=True
    )
    return next((str(identity_id) for identity_id in found), None)


def unchanged(profile: Profile, identity: GlobusIdentity, *, effective: bool = True) -> bool:
    """The account has this link (effective or not, as asked), recorded exactly as Globus describes
    the identity now."""
    return GlobusIdentityLink.objects.filter(
        subject_id=profile.subject_id,
        effective=effective,
        identity_id=identity.id,
        username=identity.username,
        identity_provider=identity.identity_provider,
        identity_status=identity.status,
    ).exists()


# --- globus_map -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What happened (or, in a dry run, would happen) to one account."""

    action: str  # linked, refreshed, unchanged, refused; dry run: would_link, would_refresh,
    #              would_provision, would_refuse
    legacy_id: str
    sub: str
    username: str  # the Globus username the policy expects
    identity_id: str = ""
    reason: str = ""
    audited: bool = False  # a refusal newly written to the audit trail (not a repeat of the last one)


CHANGES = {"linked", "refreshed", "would_link", "would_refresh", "would_provision"}


@dataclass
class MapReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(outcome.action for outcome in self.outcomes)

    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action in ("refused", "would_refuse")]

    def wrote_anything(self) -> bool:
        return any(o.action in ("linked", "refreshed") or o.audited for o in self.outcomes)


class Mapper:
    """Resolves accounts to their Globus identities, one batch (one Globus call) at a time.

    A real run asks Globus to provision identities it does not know yet (so every account gets its
    identity id before its first Globus login) and links through the policy; a dry run never
    provisions (that would create identities at Globus) and writes nothing.
    """

    def __init__(self, directory: IdentityDirectory, *, dry_run: bool, actor: str) -> None:
        self.directory, self.dry_run, self.actor = directory, dry_run, actor
        self.ambiguous = ambiguous_username_keys()

    def map_batch(self, profiles: Sequence[Profile]) -> list[Outcome]:
        if len(profiles) > MAX_IDENTITIES_PER_CALL:
            raise ValueError("one batch is one Globus call: at most 100 profiles")
        wanted = [p for p in profiles if p.username_key not in self.ambiguous]
        found: dict[str, GlobusIdentity] = {}
        if wanted:
            identities = self.directory.by_usernames(
                sorted({policy_username(p) for p in wanted}), provision=not self.dry_run
            )
            found = {identity.username: identity for identity in identities}
        if self.dry_run:
            return [self._plan(p, found.get(policy_username(p))) for p in profiles]
        # The lookup is the only Globus call of the batch, made before anything is written, so an
        # outage leaves no batch half-applied; the batch's links commit together.
        with transaction.atomic():
            return [self._apply(p, found.get(policy_username(p))) for p in profiles]

    def _plan(self, profile: Profile, identity: GlobusIdentity | None) -> Outcome:
        if profile.username_key in self.ambiguous:
            return self._outcome("would_refuse", profile, reason=USERNAME_CONFLICT)
        if identity is None:
            return self._outcome("would_provision", profile)
        if unchanged(profile, identity):
            return self._outcome("unchanged", profile, identity)
        refusal = link_refusal(profile, identity)
        if refusal is not None:
            return self._outcome("would_refuse", profile, identity, reason=refusal)
        current = effective_identity_id(profile)
        return self._outcome("would_refresh" if current == identity.id else "would_link", profile, identity)

    def _apply(self, profile: Profile, identity: GlobusIdentity | None) -> Outcome:
        if profile.username_key in self.ambiguous:
            return self._refuse(profile, USERNAME_CONFLICT)
        if identity is None:
            return self._refuse(profile, NOT_AT_GLOBUS)
        if unchanged(profile, identity):
            return self._outcome("unchanged", profile, identity)
        refusal = link_refusal(profile, identity)
        if refusal is not None and refused_before(profile, refusal, identity.id):
            return self._outcome("refused", profile, identity, reason=refusal)
        try:
            result = link_identity(
                profile,
                identity,
                method=GlobusIdentityLink.Method.ADMIN,
                proof=GlobusIdentityLink.Proof.ADMIN_ASSERTION,
                actor=self.actor,
            )
        except LinkRefused as refused:  # already in the audit trail, with the identity
            return self._outcome("refused", profile, identity, reason=refused.reason, audited=True)
        return self._outcome("linked" if result.created else "refreshed", profile, identity)

    def _refuse(self, profile: Profile, reason: str) -> Outcome:
        if refused_before(profile, reason, ""):
            return self._outcome("refused", profile, reason=reason)
        record_refusal(
            profile,
            reason,
            sub=profile.subject.sub,
            method=GlobusIdentityLink.Method.ADMIN,
            globus_username=policy_username(profile),
            actor=self.actor,
        )
        return self._outcome("refused", profile, reason=reason, audited=True)

    @staticmethod
    def _outcome(
        action: str,
        profile: Profile,
        identity: GlobusIdentity | None = None,
        *,
        reason: str = "",
        audited: bool = False,
    ) -> Outcome:
        return Outcome(
            action=action,
            legacy_id=profile.subject.legacy_id,
            sub=profile.subject.sub,
            username=policy_username(profile),
            identity_id=identity.id if identity is not None else "",
            reason=reason,
            audited=audited,
        )


def refused_before(profile: Profile, reason: str, identity_id: str) -> bool:
    """The account's latest Globus audit event is this very refusal: re-running the mapping reports
    it again but does not write it again (a re-run that changes nothing leaves no trace)."""
    latest = (
        AuditEvent.objects.filter(event__startswith="globus.", legacy_id=profile.subject.legacy_id)
        .order_by("-occurred_at", "-id")
        .values_list("event", "reason", "details")
        .first()
    )
    if latest is None:
        return False
    event, last_reason, details = latest
    return (
        event == "globus.link_refused"
        and last_reason == reason
        and isinstance(details, dict)
        and details.get("sub") == profile.subject.sub
        and details.get("identity_id", "") == identity_id
    )


# --- resuming -------------------------------------------------------------------------------------
class Checkpoint:
    """Where an interrupted run stopped: the last subject of the last committed batch.

    Accounts are walked in subject order, so "after subject N" is a complete description of what is
    done. The file is written atomically after each batch commits and removed when the run finishes.
    ``selection`` (the options that chose the accounts) must match to resume.
    """

    def __init__(self, path: Path, selection: dict[str, Any]) -> None:
        self.path, self.selection = path, selection

    def load(self) -> int:
        """The subject id to continue after (CheckpointError if there is nothing to resume)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise CheckpointError(
                f"no checkpoint at {self.path}: the last run finished, or never started"
            ) from None
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"the checkpoint {self.path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("after_subject"), int):
            raise CheckpointError(f"the checkpoint {self.path} is not a globus_map checkpoint")
        if data.get("selection") != self.selection:
            raise CheckpointError(
                f"the checkpoint {self.path} is for another selection ({data.get('selection')}); "
                "run with the same options, or without --resume"
            )
        return int(data["after_subject"])

    def save(self, after_subject: int, counts: Counter[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = {"selection": self.selection, "after_subject": after_subject, "counts": dict(counts)}
        tmp.write_text(json.dumps(body, sort_keys=True))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class CheckpointError(Exception):
    pass


# --- progress -------------------------------------------------------------------------------------
class Progress:
    """Progress on stderr: a bar redrawn in place on a terminal, a plain line per step otherwise
    (cron mail and CI logs get no carriage returns)."""

    def __init__(self, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.total, self.unit, self.done = total, unit, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._open_line = False

    def advance(self, n: int) -> None:
        self.done += n
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.unit}"
            )
            self._open_line = True
        else:
            self.stream.write(f"{self.done}/{self.total} {self.unit}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        self.stream.write(message + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False


def retry_notice(write: Callable[[str], object]) -> Callable[[int | None, float], None]:
    """Say on stderr that Globus is being waited for (an administrator watching a long run)."""

    def notice(status: int | None, delay: float) -> None:
        what = f"answered {status}" if status is not None else "did not answer"
        write(f"Globus Auth {what}; retrying in {delay:.1f}s")

    return notice
