from django.urls import path

from oidc import account_views, views

app_name = "oidc"

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery_view, name="discovery"),
    path(".well-known/oauth-authorization-server", views.discovery_view, name="oauth-metadata"),
    path("jwks", views.jwks_view, name="jwks"),
    path("authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("token", views.TokenView.as_view(), name="token"),
    path("userinfo", views.UserInfoView.as_view(), name="userinfo"),
    path("introspect", views.IntrospectView.as_view(), name="introspect"),
    path("revoke", views.RevokeView.as_view(), name="revoke"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("account/", account_views.AccountView.as_view(), name="account"),
    path(
        "account/consents/<int:consent_id>/revoke", account_views.revoke_consent_view, name="revoke-consent"
    ),
]
