from django import forms
from django.utils.translation import gettext_lazy as _

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
