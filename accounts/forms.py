from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.authentication import MAX_LOGIN_LENGTH, MAX_PASSWORD_LENGTH


class LoginForm(forms.Form):
    login = forms.CharField(
        label=_("Username"),
        max_length=MAX_LOGIN_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    # strip=False: what the user typed is verified exactly as typed (DECISIONS.md, Passwords).
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
