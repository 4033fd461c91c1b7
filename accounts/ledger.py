"""The subject ledger and username identity: which ``sub`` a legacy row is, and whose username is whose.

- A ``sub`` is minted once per live legacy id and never reassigned.
- A legacy row that disappears tombstones its subject; an id reused later starts a new subject,
  so a new person never inherits the old subject, profile or Globus link.
- Usernames are compared after NFKC normalisation and case folding: two live accounts with the same
  key would receive the same ``preferred_username``, so neither may log in until an admin resolves it.
"""

from __future__ import annotations

import unicodedata

from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from accounts.models import Profile, Subject, UsernameConflict


def username_key(username: str) -> str:
    """NFKC_Casefold-style key: 'AJones', 'ajones' and their full-width forms are one username."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def live_subject(legacy_id: str) -> Subject | None:
    return Subject.objects.filter(legacy_id=legacy_id, tombstoned_at__isnull=True).first()


def subject_for(legacy_id: str) -> Subject:
    """The live subject of a legacy id, minting one if there is none (first login, or id reused)."""
    subject = live_subject(legacy_id)
    if subject is not None:
        return subject
    try:
        with transaction.atomic():
            return Subject.objects.create(legacy_id=legacy_id)
    except IntegrityError:
        # A concurrent first login minted it; theirs is the one.
        return Subject.objects.get(legacy_id=legacy_id, tombstoned_at__isnull=True)


def tombstone(legacy_id: str, *, reason: str) -> bool:
    """Mark the live subject of a vanished legacy row. Returns whether there was one."""
    subject = live_subject(legacy_id)
    if subject is None:
        return False
    Subject.objects.filter(pk=subject.pk).update(tombstoned_at=timezone.now())
    audit.record("account.tombstoned", reason=reason, legacy_id=legacy_id, sub=subject.sub)
    return True


def effective_username(subject: Subject | None, legacy_username: str) -> str:
    override = getattr(subject, "username_override", None) if subject is not None else None
    return override.username if override is not None else legacy_username


def open_conflict(key: str) -> UsernameConflict | None:
    return UsernameConflict.objects.filter(username_key=key, resolved_at__isnull=True).first()


def record_conflict(key: str, legacy_ids: list[str]) -> UsernameConflict:
    """Record (or widen) an unresolved conflict; the admin and the audit trail say exactly why."""
    with transaction.atomic():
        conflict, created = UsernameConflict.objects.select_for_update().get_or_create(
            username_key=key, defaults={"legacy_ids": sorted(set(legacy_ids))}
        )
        merged = sorted(set(conflict.legacy_ids) | set(legacy_ids))
        if not created and (merged != conflict.legacy_ids or conflict.resolved_at is not None):
            conflict.legacy_ids, conflict.resolved_at, conflict.resolution = merged, None, ""
            conflict.save()
    if created:
        audit.record(
            "account.username_conflict", reason="same_username", legacy_ids=merged, normalized_username=key
        )
    return conflict


def conflicting_legacy_ids(key: str, legacy_id: str) -> list[str]:
    """Other live accounts that still hold the same username key in the legacy database.

    The bridge's copy may be stale: an account deleted in the portal is tombstoned here, and one
    renamed in the portal no longer conflicts. Only in this rare case is the legacy database read
    again, so a normal login stays one query.
    """
    from accounts.legacy import get_user_source

    candidates = (
        Profile.objects.filter(username_key=key, subject__tombstoned_at__isnull=True)
        .exclude(subject__legacy_id=legacy_id)
        .values_list("subject__legacy_id", flat=True)
    )
    from accounts.legacy import LegacyRowUnreadable

    still = []
    for other in candidates:
        try:
            row = get_user_source().get_by_id(other)
        except LegacyRowUnreadable:
            still.append(other)  # it exists; whether it still collides is unknown: assume it does
            continue
        if row is None:
            tombstone(other, reason="row_missing")
        elif username_key(effective_username(live_subject(other), row.username)) == key:
            still.append(other)
    return still


def resolve_conflict(conflict: UsernameConflict, *, resolved_by: str) -> str | None:
    """Close a conflict if the accounts no longer share a username; otherwise say why not.

    Reads the legacy rows again (a rename in the portal is the usual fix) and applies overrides.
    """
    from accounts.legacy import LegacyRowUnreadable, LegacySourceUnavailable, get_user_source

    keys = []
    try:
        for legacy_id in conflict.legacy_ids:
            row = get_user_source().get_by_id(legacy_id)
            if row is not None:
                keys.append(username_key(effective_username(live_subject(legacy_id), row.username)))
    except LegacySourceUnavailable:
        return "the legacy database did not answer; try again."
    except LegacyRowUnreadable as exc:
        return f"a legacy row cannot be read: {exc}"
    if len(keys) != len(set(keys)):
        return "two accounts still share a username: rename one in the portal or add a username override."
    conflict.resolved_at, conflict.resolution = timezone.now(), f"resolved by {resolved_by}"
    conflict.save()
    return None
