from django.apps import AppConfig


class IdpBridgeConfig(AppConfig):
    name = "idp_bridge"
    verbose_name = "idp-bridge"

    def ready(self) -> None:
        from idp_bridge import checks  # noqa: F401  (registers the system checks)
