from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.authentication import MAX_LOGIN_LENGTH, MAX_PASSWORD_LENGTH


class LoginForm(forms.Form):
    login = forms.CharField(
        label=_("Username"),
        max_length=MAX_LOGIN_LENGTH,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    # strip=False: what the user typed is verified exactly as typed (DECISIONS.md, Passwords).
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # A NUL byte in a password is refused by the hasher registry like any wrong password, so the
        # page is the same as for every other failure (Django's form would answer differently).
        self.fields["password"].validators = []


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin site's login, under the same brute-force protection as the portal's (scope admin)."""

    def clean(self) -> dict[str, Any]:
        from accounts import throttle
        from accounts.models import LoginThrottle

        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        address = self.request.META.get("REMOTE_ADDR") if self.request is not None else None
        attempt = throttle.begin(username, address, scope=LoginThrottle.ADMIN)
        if isinstance(attempt, throttle.Refusal):
            wait = attempt.retry_after()
            raise ValidationError(
                ngettext(
                    "Too many failed attempts. Wait %(seconds)d second before trying again.",
                    "Too many failed attempts. Wait %(seconds)d seconds before trying again.",
                    wait,
                ),
                code="throttled",
                params={"seconds": wait},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.failed(attempt, address=address)
            raise
        throttle.succeeded(attempt)
        return cleaned
