"""Registering relying parties: the one place that turns a registration request into a client."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

import audit
from oidc.hashers import MIN_CLIENT_SECRET_LENGTH
from oidc.models import Application

GLOBUS_CALLBACK = "https://auth.globus.org/p/authenticate/callback"


def client_id_possible(client_id: object) -> bool:
    """Whether any client could have this id. None contains NUL, and PostgreSQL cannot even compare
    text that does (psycopg raises DataError; DOT, expecting psycopg2's ValueError, let it through
    as a 500)."""
    return isinstance(client_id, str) and bool(client_id) and "\x00" not in client_id


def find_client(client_id: object) -> Application | None:
    """The registered client with this id, or None, for any value a request may carry."""
    if not client_id_possible(client_id):
        return None
    return Application.objects.filter(client_id=client_id).first()


class RegistrationError(ValueError):
    """The registration request is not acceptable; the message says what to change."""


@dataclass
class ClientRegistration:
    client_id: str
    name: str
    redirect_uris: list[str]
    client_secret: str | None = None
    public: bool = False
    trusted: bool = False
    auth_method: str = Application.AuthMethod.CLIENT_SECRET_BASIC
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    @classmethod
    def globus_preset(cls, **overrides: object) -> ClientRegistration:
        values: dict[str, object] = {
            "name": "Globus Auth",
            "redirect_uris": [GLOBUS_CALLBACK],
            "public": False,
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, [], False)})
        return cls(**values)  # type: ignore[arg-type]


def register_client(reg: ClientRegistration) -> tuple[Application, bool]:
    """Create or update the client ``reg.client_id``. Returns (application, created)."""
    if not reg.redirect_uris:
        raise RegistrationError("At least one --redirect-uri is required.")
    if reg.public and reg.client_secret:
        raise RegistrationError("A public client has no secret; drop --client-secret or --public.")
    if reg.client_secret is not None and len(reg.client_secret) < MIN_CLIENT_SECRET_LENGTH:
        raise RegistrationError(
            f"The client secret must be at least {MIN_CLIENT_SECRET_LENGTH} characters of random text "
            "(use --generate-secret)."
        )
    with transaction.atomic():
        app = Application.objects.filter(client_id=reg.client_id).first()
        created = app is None
        if created:
            if not reg.public and reg.client_secret is None:
                raise RegistrationError(
                    "A new confidential client needs --client-secret or --generate-secret."
                )
            app = Application(client_id=reg.client_id)
        assert app is not None
        app.name = reg.name
        app.client_type = Application.CLIENT_PUBLIC if reg.public else Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.algorithm = Application.RS256_ALGORITHM
        app.redirect_uris = " ".join(reg.redirect_uris)
        app.post_logout_redirect_uris = " ".join(reg.post_logout_redirect_uris)
        app.skip_authorization = reg.trusted
        app.token_endpoint_auth_method = Application.AuthMethod.NONE if reg.public else reg.auth_method
        app.hash_client_secret = True
        if reg.public:
            app.client_secret = ""
        elif reg.client_secret is not None:
            app.client_secret = reg.client_secret
        try:
            app.full_clean(exclude=["client_secret", "user"])
        except ValidationError as exc:
            raise RegistrationError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        app.save()
        audit.record(
            "client.registered",
            reason="created" if created else "updated",
            client_id=app.client_id,
            trusted=app.skip_authorization,
            public=reg.public,
            credential_replaced=reg.client_secret is not None,
            redirect_uris=list(reg.redirect_uris),
        )
    return app, created
