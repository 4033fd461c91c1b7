"""Portal accounts as the bridge records them after a first login (ledger subject, user, profile)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts import ledger
from accounts.models import Profile, Subject


def make_profile(username: str, legacy_id: str | None = None) -> Profile:
    subject = Subject.objects.create(legacy_id=legacy_id or f"legacy-{username}")
    user = get_user_model().objects.create(username=f"legacy.{subject.sub}")
    return Profile.objects.create(
        user=user, subject=subject, legacy_username=username, username_key=ledger.username_key(username)
    )


def make_profiles(count: int, prefix: str = "user") -> list[Profile]:
    return [make_profile(f"{prefix}{i:04d}") for i in range(count)]
