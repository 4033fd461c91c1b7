from django.conf import settings
from django.http import HttpRequest

from idp_bridge import branding as branding_settings


def branding(request: HttpRequest) -> dict[str, object]:
    """Every page's branding (docs/branding.md): ``brand.*`` in templates."""
    brand = branding_settings.current()
    return {"brand": brand, "institution_name": brand.institution_name, "demo_mode": settings.BRIDGE_DEMO}
