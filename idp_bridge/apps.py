from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate, post_save


class IdpBridgeConfig(AppConfig):
    name = "idp_bridge"
    verbose_name = "idp-bridge"

    def ready(self) -> None:
        from idp_bridge import checks  # noqa: F401  (registers the system checks)
        from idp_bridge.metrics import count_audit_event

        # Logins and lockouts are counted from the audit trail, which every attempt writes.
        post_save.connect(count_audit_event, sender="audit.AuditEvent", dispatch_uid="idp_bridge.metrics")
        # post_migrate is sent per app with models; idp_bridge has none, so hang it on the audit app.
        post_migrate.connect(
            create_cache_table, sender=apps.get_app_config("audit"), dispatch_uid="idp_bridge.cache_table"
        )


def create_cache_table(using: str = "default", verbosity: int = 1, **kwargs: Any) -> None:
    """`migrate` also creates the shared cache's table (CACHES), so no deployment can forget it."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=max(0, verbosity - 1))
