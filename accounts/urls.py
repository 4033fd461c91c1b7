from django.urls import path
from django.views.generic import RedirectView

from accounts import globus_views, views

app_name = "accounts"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logged-out", views.logged_out, name="logged_out"),
    path("", RedirectView.as_view(pattern_name="oidc:account"), name="home"),
    path("account/globus/", globus_views.GlobusLinkView.as_view(), name="globus-link"),
    path("account/globus/start", globus_views.start_view, name="globus-start"),
    path("account/globus/callback", globus_views.callback_view, name="globus-callback"),
    path("account/globus/unlink/<int:link_id>", globus_views.unlink_view, name="globus-unlink"),
]
