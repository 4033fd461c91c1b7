from django.conf import settings
from django.http import HttpRequest


def branding(request: HttpRequest) -> dict[str, object]:
    return {"institution_name": settings.BRIDGE_INSTITUTION_NAME, "demo_mode": settings.BRIDGE_DEMO}
