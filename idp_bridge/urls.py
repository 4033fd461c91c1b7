from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from idp_bridge import branding

urlpatterns = [
    path("admin/", admin.site.urls),
    path("branding.css", branding.stylesheet_view, name="branding-css"),
    path("", include("oidc.urls")),
    path("", include("accounts.urls")),
]

if settings.BRIDGE_DEMO:
    # The demo relying party exists only in demo mode (`make run`), never in production.
    urlpatterns.append(path("demo-rp/", include("idp_bridge.demo_rp")))

# A failing bridge database answers 503 (JSON on the OAuth endpoints), never a stack trace.
handler500 = "idp_bridge.outage.server_error"
