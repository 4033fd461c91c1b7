from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OidcConfig(AppConfig):
    name = "oidc"
    verbose_name = "OpenID Connect"

    def ready(self) -> None:
        from oidc import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(_create_first_signing_key, sender=self)


def _create_first_signing_key(**kwargs: object) -> None:
    # The JWKS must never be empty once the database exists, so the first key is made at migrate
    # time rather than at the first token request.
    from django.db import DEFAULT_DB_ALIAS

    from oidc.keys import ensure_active_key

    # `flush` (between tests) sends post_migrate without a plan: the lazy path in
    # keys.active_signing_key() covers an emptied database, so no RSA key is generated there.
    if kwargs.get("plan") is not None and kwargs.get("using", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS:
        ensure_active_key()
