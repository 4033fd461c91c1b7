"""The portal session: who logged in through the legacy backend, and when they last proved it.

``auth_time`` is the time of the last real password check in this browser session (recorded at
login), never ``User.last_login``. A Django session opened by another backend (an admin's) is not
a portal session: it carries no ``sub`` and must never reach a relying party.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import BACKEND_SESSION_KEY, login
from django.http import HttpRequest

from accounts.authentication import LoginOutcome, record_authentication
from accounts.models import Profile
from accounts.state import forget as forget_state

LEGACY_BACKEND = "accounts.backends.LegacyBackend"
SESSION_AUTH_TIME = "bridge_auth_time"
SESSION_AMR = "bridge_amr"


@dataclass(frozen=True)
class PortalSession:
    profile: Profile
    auth_time: datetime
    amr: tuple[str, ...]

    @property
    def user(self):  # type: ignore[no-untyped-def]
        return self.profile.user


def start_portal_session(request: HttpRequest, outcome: LoginOutcome) -> None:
    assert outcome.user is not None
    login(request, outcome.user, backend=LEGACY_BACKEND)  # rotates the session key
    forget_state(outcome.user.profile)  # the row was just read: no stale "suspended" from the cache
    event = record_authentication(outcome.user, outcome.scheme)
    request.session[SESSION_AUTH_TIME] = event.occurred_at.timestamp()
    request.session[SESSION_AMR] = [event.amr]


def current_portal_session(request: HttpRequest) -> PortalSession | None:
    user = request.user
    if not user.is_authenticated or request.session.get(BACKEND_SESSION_KEY) != LEGACY_BACKEND:
        return None
    timestamp = request.session.get(SESSION_AUTH_TIME)
    profile = getattr(user, "profile", None)
    if not isinstance(timestamp, int | float) or profile is None:
        return None
    amr = request.session.get(SESSION_AMR) or ["pwd"]
    return PortalSession(profile, datetime.fromtimestamp(timestamp, tz=UTC), tuple(amr))
