"""Local shadow of legacy accounts: the subject ledger, profiles and authentication events."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def mint_subject() -> str:
    # Random, not derived: a sub must reveal nothing (not the legacy id, not a row count) and must
    # survive a change of hashing secrets. It is stored once and never recomputed.
    return str(uuid.uuid4())


class Subject(models.Model):
    """The ledger: one opaque ``sub`` per legacy account, minted once and never reassigned.

    Rows are never deleted (the admin cannot delete them and profiles PROTECT them). When the legacy
    row disappears the subject is tombstoned; if the portal later reuses that id for a new row, the
    new row is a new person and gets a new subject (at most one live subject per legacy id).
    """

    legacy_id = models.CharField(max_length=255, editable=False, db_index=True)
    sub = models.CharField(max_length=64, unique=True, default=mint_subject, editable=False)
    first_seen = models.DateTimeField(auto_now_add=True)
    tombstoned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["legacy_id"],
                condition=models.Q(tombstoned_at__isnull=True),
                name="one_live_subject_per_legacy_id",
            )
        ]

    def __str__(self) -> str:
        state = " tombstoned" if self.tombstoned_at else ""
        return f"{self.sub} (legacy id {self.legacy_id}{state})"


class Profile(models.Model):
    """The claims-relevant copy of a legacy row, refreshed at every successful login.

    Tokens already issued are served from this copy, so userinfo keeps working while the legacy
    database is down.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="profile")
    legacy_username = models.CharField(max_length=255)
    # NFKC + case folding of the username that preferred_username is built from: two live
    # profiles with the same key would hand out the same username claim (DECISIONS.md).
    username_key = models.CharField(max_length=255, db_index=True, default="")
    name = models.CharField(max_length=255, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=320, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    refreshed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.preferred_username

    @property
    def sub(self) -> str:
        return self.subject.sub

    @property
    def legacy_id(self) -> str:
        return self.subject.legacy_id

    @property
    def preferred_username(self) -> str:
        # Globus usernames are always lower-case (DECISIONS.md). An admin's override wins.
        override = getattr(self.subject, "username_override", None)
        username = override.username if override is not None else self.legacy_username
        return f"{username}@{settings.BRIDGE_USERNAME_DOMAIN}".lower()


class UsernameOverride(models.Model):
    """An admin's explicit username for one legacy account: how a username conflict is resolved
    in the bridge when the portal itself cannot rename the account."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="username_override")
    username = models.CharField(max_length=150)
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.subject.legacy_id} -> {self.username}"


class UsernameConflict(models.Model):
    """Legacy accounts whose usernames become equal after NFKC and case folding.

    While unresolved, none of them may log in (DECISIONS.md): never pick one.
    """

    username_key = models.CharField(max_length=255, unique=True)
    legacy_ids = models.JSONField(default=list)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.username_key}: {', '.join(self.legacy_ids)}"


class AuthenticationEvent(models.Model):
    """A real credential check that succeeded: the source of ``auth_time``, never User.last_login."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_events")
    occurred_at = models.DateTimeField(db_index=True)
    amr = models.CharField(max_length=64, default="pwd")
    password_scheme = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.user} at {self.occurred_at:%Y-%m-%d %H:%M:%S} ({self.amr})"


class GlobusIdentityLink(models.Model):
    """A portal account (its ledger ``Subject``, never a username) tied to one Globus identity.

    Globus identity ids are UUIDs that are never reused, so the link keys on ``identity_id``; the
    Globus username is kept only as it was at link time (usernames can change or be reused). At most
    one link per subject is *effective* (the identity Globus users of this IdP are known by); other
    identities of the same person may be recorded with ``effective=False``. The policy that decides
    what may be effective lives in ``accounts.globus_links``; every change is in the audit trail.
    """

    class Method(models.TextChoices):
        SELF_SERVICE = "self_service", "self-service Globus login"
        ADMIN = "admin", "administrator"
        IMPORT = "import", "import"

    class Proof(models.TextChoices):
        GLOBUS_LOGIN = "globus_login", "proven by a Globus login"
        ADMIN_ASSERTION = "admin_assertion", "asserted by an administrator"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="globus_links")
    identity_id = models.UUIDField(unique=True, editable=False)
    username = models.CharField(max_length=255, help_text="The Globus username when the link was made")
    identity_provider = models.UUIDField(help_text="The Globus identity provider id of this identity")
    identity_status = models.CharField(max_length=32, blank=True, help_text="used, unused, private or closed")
    method = models.CharField(max_length=16, choices=Method.choices)
    proof = models.CharField(max_length=16, choices=Proof.choices)
    effective = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True, help_text="Last proven by a Globus login")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject"], condition=models.Q(effective=True), name="one_effective_globus_link"
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.identity_id})"


class LoginThrottle(models.Model):
    """Failed logins counted per typed username key or per client address (accounts/throttle.py).

    Kept in the bridge database so that every replica sees the same counters; the legacy database
    is never written. An unknown username gets a row exactly like a known one: a lockout reveals
    nothing about which usernames exist.
    """

    ACCOUNT = "account"
    ADMIN = "admin"
    ADDRESS = "ip"
    SCOPES = [(ACCOUNT, "username"), (ADMIN, "admin username"), (ADDRESS, "client address")]

    scope = models.CharField(max_length=8, choices=SCOPES)
    key = models.CharField(
        max_length=255, help_text="The normalised username typed, or the client's IP address."
    )
    failures = models.PositiveIntegerField(default=0, help_text="Failed attempts in the current window.")
    window_started_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    blocked_until = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Attempts are refused until then."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_throttle_per_key")]
        verbose_name = "login throttle"

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.key}"
