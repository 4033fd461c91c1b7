from django.urls import path
from django.views.generic import RedirectView

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logged-out", views.logged_out, name="logged_out"),
    path("", RedirectView.as_view(pattern_name="oidc:account"), name="home"),
]
