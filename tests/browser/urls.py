"""The bridge's URLs plus the demo relying party, which the browser tests sign in through."""

from django.urls import include, path

from idp_bridge.urls import urlpatterns as bridge_urlpatterns

urlpatterns = [*bridge_urlpatterns, path("demo-rp/", include("idp_bridge.demo_rp"))]
