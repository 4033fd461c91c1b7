"""Standing consent: recorded when a user approves a client, revocable with all its tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from oidc import events
from oidc.models import Application, Consent


def has_consent(
    user: Any, application: Application, scopes: Iterable[str], claim_names: Iterable[str]
) -> bool:
    consent = Consent.objects.filter(user=user, application=application).first()
    return consent is not None and consent.covers(set(scopes), set(claim_names))


def record_consent(
    user: Any, application: Application, scopes: Iterable[str], claim_names: Iterable[str]
) -> Consent:
    with transaction.atomic():
        consent, _ = Consent.objects.select_for_update().get_or_create(user=user, application=application)
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.claims = " ".join(sorted(set(consent.claims.split()) | set(claim_names)))
        consent.save()
        events.consent_granted(user, application.client_id, sorted(set(scopes)))
    return consent


def revoke_consent(consent: Consent, *, by: str) -> int:
    """Withdraw consent and every code and token the client holds for the user. Returns tokens revoked.

    ``by`` says who withdrew it for the audit trail: "user" (the account page) or "admin"."""
    revoked = 0
    with transaction.atomic():
        user, application = consent.user, consent.application
        get_grant_model().objects.filter(user=user, application=application).delete()
        for refresh_token in get_refresh_token_model().objects.filter(
            user=user, application=application, revoked__isnull=True
        ):
            refresh_token.revoke()
            revoked += 1
        for access_token in get_access_token_model().objects.filter(user=user, application=application):
            access_token.revoke()
            revoked += 1
        consent.delete()
        events.consent_revoked(user, application.client_id, by=by, revoked=revoked)
    return revoked
