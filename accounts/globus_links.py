"""Which Globus identity is a portal account's, and the record of every link made or removed.

The effective-identity policy (strict, the only one; docs/globus-linking.md):

- a link is made effective only for a Globus identity whose identity provider is this IdP
  (``BRIDGE_GLOBUS_IDP_ID``) and whose username is the profile's ``preferred_username``
  (``<legacy username>@<BRIDGE_USERNAME_DOMAIN>``, lower-cased as Globus does);
- links key on the identity id (a UUID Globus never reuses), never on a username or an email;
- an identity from any other provider, or a closed identity, is never made effective;
- a profile has at most one effective link; an identity is linked to at most one profile.

Every link, unlink and refusal is an audit event (``globus.link``, ``globus.unlink``,
``globus.link_refused`` with a reason code); no token is ever recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import audit
from accounts.globus import GlobusIdentity, GlobusLogin
from accounts.models import GlobusIdentityLink, Profile, Subject
from idp_bridge.errors import BridgeError

# Reason codes, as they appear in the audit trail and select the message the user sees.
NO_IDENTITY_FROM_IDP = "no_identity_from_idp"
USERNAME_MISMATCH = "username_mismatch"
IDENTITY_CLOSED = "identity_closed"
NOT_AUTHENTICATED = "not_authenticated"
LINKED_TO_ANOTHER_ACCOUNT = "linked_to_another_account"
ANOTHER_IDENTITY_LINKED = "another_identity_linked"
OTHER_PROVIDER = "other_provider"


class LinkRefused(BridgeError):
    """The policy (or the current links) forbid this link: ``reason`` says why, for audit and user."""

    def __init__(self, reason: str, identity: GlobusIdentity | None = None) -> None:
        super().__init__(reason)
        self.reason, self.identity = reason, identity


@dataclass(frozen=True)
class LinkResult:
    link: GlobusIdentityLink
    created: bool


def policy_username(profile: Profile) -> str:
    """The only Globus username that may be effective for this profile."""
    return profile.preferred_username


def policy_refusal(profile: Profile, identity: GlobusIdentity) -> str | None:
    """Why ``identity`` may not be the effective identity of ``profile`` (None: it may)."""
    if identity.identity_provider != settings.BRIDGE_GLOBUS_IDP_ID.lower():
        return OTHER_PROVIDER
    if identity.username.lower() != policy_username(profile):
        return USERNAME_MISMATCH
    if identity.status == "closed":
        return IDENTITY_CLOSED
    return None


def choose_identity(profile: Profile, login: GlobusLogin) -> GlobusIdentity:
    """Scan the whole identity set (never the top-level effective identity) for the one to link.

    Raises LinkRefused with the reason that best explains the set to the user.
    """
    from_this_idp = [
        i for i in login.identities if i.identity_provider == settings.BRIDGE_GLOBUS_IDP_ID.lower()
    ]
    if not from_this_idp:
        raise LinkRefused(NO_IDENTITY_FROM_IDP)
    matching = [i for i in from_this_idp if i.username.lower() == policy_username(profile)]
    if not matching:
        raise LinkRefused(USERNAME_MISMATCH, from_this_idp[0])
    identity = matching[0]
    if identity.status == "closed":
        raise LinkRefused(IDENTITY_CLOSED, identity)
    if identity.id not in login.authenticated:
        # In the account but not logged in to this session: only a login proves it is this person.
        raise LinkRefused(NOT_AUTHENTICATED, identity)
    return identity


def effective_link(subject: Subject) -> GlobusIdentityLink | None:
    return GlobusIdentityLink.objects.filter(subject=subject, effective=True).first()


def link_identity(
    profile: Profile,
    identity: GlobusIdentity,
    *,
    method: str,
    proof: str,
    effective: bool = True,
    actor: Any = None,
    ip_address: str | None = None,
) -> LinkResult:
    """Make ``identity`` the effective Globus identity of ``profile``, or raise LinkRefused.

    With ``effective=False`` the identity is only recorded as another identity of this person (the
    policy does not apply, but one identity still belongs to one account). Linking the identity
    already linked re-verifies it (new status, username, verified_at).
    """
    subject = profile.subject
    refusal = policy_refusal(profile, identity) if effective else None
    if refusal is not None:
        raise _refused(profile, refusal, identity, actor=actor, ip_address=ip_address, method=method)
    now = timezone.now()
    verified_at = now if proof == GlobusIdentityLink.Proof.GLOBUS_LOGIN else None
    try:
        with transaction.atomic():
            Subject.objects.select_for_update().filter(pk=subject.pk).first()
            existing = GlobusIdentityLink.objects.filter(identity_id=identity.id).first()
            if existing is not None and existing.subject_id != subject.pk:
                raise LinkRefused(LINKED_TO_ANOTHER_ACCOUNT, identity)
            current = effective_link(subject)
            if effective and current is not None and str(current.identity_id) != identity.id:
                raise LinkRefused(ANOTHER_IDENTITY_LINKED, identity)
            if existing is not None:
                existing.username, existing.identity_status = identity.username, identity.status
                existing.identity_provider, existing.effective = identity.identity_provider, effective
                if verified_at is not None:
                    existing.verified_at, existing.proof = verified_at, proof
                existing.save()
                link, created = existing, False
            else:
                link = GlobusIdentityLink.objects.create(
                    subject=subject,
                    identity_id=identity.id,
                    username=identity.username,
                    identity_provider=identity.identity_provider,
                    identity_status=identity.status,
                    method=method,
                    proof=proof,
                    effective=effective,
                    verified_at=verified_at,
                )
                created = True
            audit.record(
                "globus.link",
                reason=method if created else "reverified",
                legacy_id=subject.legacy_id,
                user=profile.user,
                ip_address=ip_address,
                sub=subject.sub,
                identity_id=identity.id,
                identity_provider=identity.identity_provider,
                globus_username=identity.username,
                proof=proof,
                effective=effective,
                **_actor(actor),
            )
    except LinkRefused as refused:
        raise _refused(
            profile, refused.reason, identity, actor=actor, ip_address=ip_address, method=method
        ) from None
    except IntegrityError:
        # A concurrent link of the same identity or subject won the race: theirs stands.
        raise _refused(
            profile, LINKED_TO_ANOTHER_ACCOUNT, identity, actor=actor, ip_address=ip_address, method=method
        ) from None
    return LinkResult(link, created)


def link_from_login(profile: Profile, login: GlobusLogin, *, ip_address: str | None = None) -> LinkResult:
    """Self-service: link the identity a Globus login proved, under the policy."""
    try:
        identity = choose_identity(profile, login)
    except LinkRefused as refused:
        raise _refused(
            profile,
            refused.reason,
            refused.identity,
            actor=None,
            ip_address=ip_address,
            method=GlobusIdentityLink.Method.SELF_SERVICE,
            effective_identity=login.effective_identity,
        ) from None
    return link_identity(
        profile,
        identity,
        method=GlobusIdentityLink.Method.SELF_SERVICE,
        proof=GlobusIdentityLink.Proof.GLOBUS_LOGIN,
        ip_address=ip_address,
    )


def unlink(
    profile: Profile, link: GlobusIdentityLink, *, actor: Any = None, ip_address: str | None = None
) -> None:
    if link.subject_id != profile.subject.pk:
        raise ValueError("that link belongs to another account")
    with transaction.atomic():
        audit.record(
            "globus.unlink",
            reason="admin" if actor is not None else "self_service",
            legacy_id=profile.subject.legacy_id,
            user=profile.user,
            ip_address=ip_address,
            sub=profile.subject.sub,
            identity_id=str(link.identity_id),
            identity_provider=str(link.identity_provider),
            globus_username=link.username,
            was_effective=link.effective,
            **_actor(actor),
        )
        link.delete()


def record_refusal(
    profile: Profile | None, reason: str, *, ip_address: str | None = None, **details: Any
) -> None:
    """A refused link attempt that never reached the policy (bad callback, Globus unavailable)."""
    audit.record(
        "globus.link_refused",
        reason=reason,
        legacy_id=profile.subject.legacy_id if profile is not None else None,
        user=profile.user if profile is not None else None,
        ip_address=ip_address,
        **details,
    )


def _refused(
    profile: Profile,
    reason: str,
    identity: GlobusIdentity | None,
    *,
    actor: Any,
    ip_address: str | None,
    method: str,
    **extra: Any,
) -> LinkRefused:
    details: dict[str, Any] = {"method": method, **extra, **_actor(actor)}
    if identity is not None:
        details.update(
            identity_id=identity.id,
            identity_provider=identity.identity_provider,
            globus_username=identity.username,
        )
    record_refusal(profile, reason, ip_address=ip_address, sub=profile.subject.sub, **details)
    return LinkRefused(reason, identity)


def _actor(actor: Any) -> dict[str, str]:
    if actor is None:
        return {}
    return {"actor": str(getattr(actor, "get_username", lambda: actor)())}
