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
    """The ledger: one opaque ``sub`` per legacy account id, minted once and never reassigned.

    Rows are never deleted (the admin cannot delete them and profiles PROTECT them), so a legacy id
    keeps its sub even if its Django user or profile is removed.
    """

    legacy_id = models.CharField(max_length=255, unique=True, editable=False)
    sub = models.CharField(max_length=64, unique=True, default=mint_subject, editable=False)
    first_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sub} (legacy id {self.legacy_id})"


class Profile(models.Model):
    """The claims-relevant copy of a legacy row, refreshed at every successful login.

    Tokens already issued are served from this copy, so userinfo keeps working while the legacy
    database is down.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="profile")
    legacy_username = models.CharField(max_length=255)
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
        # Globus usernames are always lower-case (DECISIONS.md).
        return f"{self.legacy_username}@{settings.BRIDGE_USERNAME_DOMAIN}".lower()


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
