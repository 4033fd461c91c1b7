"""OAuth/OIDC storage: DOT's models swapped in so each token carries its authentication context.

An ID token must state when and how the user really authenticated (``auth_time``, ``amr``, ``acr``)
and honour the ``claims`` request parameter, at the code exchange and at every refresh after it.
Stock DOT keeps none of that, so the grant, access token and refresh token carry it here and each
step copies it to the next (``oidc.validators``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
    ApplicationManager,
)

from oidc.redirects import redirect_uri_problem


class AuthContext(models.Model):
    """When and how the user authenticated for one authorization, and what claims were asked."""

    auth_time = models.DateTimeField(null=True, blank=True)
    amr = models.CharField(max_length=64, blank=True, help_text="Space-separated RFC 8176 values")
    acr = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True


class TokenContext(AuthContext):
    """The authentication context plus the ``claims`` request, carried from grant to token to refresh."""

    claims_request = models.TextField(blank=True, help_text="The OIDC `claims` request parameter (JSON)")
    # SHA-256 of the authorization code the token descends from: a replayed code revokes them all
    # (RFC 6749 4.1.2, RFC 9700 4.5).
    code_checksum = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        abstract = True

    def requested_claims(self) -> dict[str, object]:
        from oidc.claims import parse_claims_request

        return parse_claims_request(self.claims_request) or {}


class Application(AbstractApplication):
    class AuthMethod(models.TextChoices):
        CLIENT_SECRET_BASIC = "client_secret_basic"
        CLIENT_SECRET_POST = "client_secret_post"
        NONE = "none", "none (public client)"

    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET_BASIC
    )

    objects = ApplicationManager()

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = {field: list(messages) for field, messages in exc.error_dict.items()}
        # Stock DOT wants a key in settings for RS256; the bridge's keys live in the database.
        errors.pop("algorithm", None)
        for field in ("redirect_uris", "post_logout_redirect_uris"):
            for uri in getattr(self, field).split():
                if problem := redirect_uri_problem(uri):
                    errors.setdefault(field, []).append(ValidationError(f"{uri}: {problem}"))
        if errors:
            raise ValidationError(errors)

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact string comparison, as OpenID Connect Core 3.1.2.1 requires.

        Stock DOT tolerates extra query parameters and compares hosts loosely; a redirect URI is a
        credential-bearing destination, so nothing but the registered string itself is accepted.
        """
        return uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris.split()

    @property
    def jwk_key(self) -> Any:
        """The bridge's active signing key: keys belong to the issuer, not to settings or clients.

        The bridge signs through oidc.keys; this only answers DOT code paths that ask a client for
        its key, which would otherwise look for a key in settings and fail."""
        from oidc.keys import active_signing_key

        return active_signing_key().jwk


class Grant(AbstractGrant, AuthContext):
    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(AbstractAccessToken, TokenContext):
    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class RefreshToken(AbstractRefreshToken, TokenContext):
    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class IDToken(AbstractIDToken):
    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"


class SigningKey(models.Model):
    """An RS256 key pair; the private half is encrypted with BRIDGE_KEY_ENCRYPTION_SECRET.

    Life cycle: NEXT (published, not used to sign) -> ACTIVE (signs; listed first in the JWKS) ->
    RETIRING (published until every token it signed has expired) -> deleted.
    """

    class State(models.TextChoices):
        NEXT = "next"
        ACTIVE = "active"
        RETIRING = "retiring"

    kid = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    private_key_encrypted = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retire_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_signing_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"


class Consent(models.Model):
    """A user's standing approval for a client to receive the claims of some scopes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    scopes = models.TextField(help_text="Space-separated scopes approved")
    claims = models.TextField(blank=True, help_text="Space-separated extra claims approved")
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "application"], name="one_consent_per_client")]

    def __str__(self) -> str:
        return f"{self.user} -> {self.application}: {self.scopes}"

    def covers(self, scopes: set[str], claims: set[str]) -> bool:
        return scopes <= set(self.scopes.split()) and claims <= set(self.claims.split())
