"""The portal login page: legacy credentials in, a portal session out."""

from __future__ import annotations

import logging
import math
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_application_model

from accounts import throttle
from accounts.authentication import AccountNeedsAttention
from accounts.forms import LoginForm
from accounts.legacy import LegacySourceUnavailable
from accounts.models import LoginThrottle
from accounts.session import current_portal_session, start_portal_session

log = logging.getLogger("idp_bridge.login")

RETRY_AFTER_SECONDS = 30


MAX_NEXT_LENGTH = 16384


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """A path on this site to continue to: never another host, never a scheme-relative URL.

    Django's url_has_allowed_host_and_scheme refuses anything over 2048 characters, which would
    strand a long but legitimate authorization request (a JWT ``state``, a ``claims`` parameter) at
    the account page, so local paths are checked here directly.
    """
    if candidate and len(candidate) <= MAX_NEXT_LENGTH and _is_local_path(candidate):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _is_local_path(candidate: str) -> bool:
    path = candidate.split("?", 1)[0]
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False  # relative, scheme-relative ("//evil"), or "/\\evil" which browsers read as "//evil"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in candidate):
        return False  # control characters can hide a scheme or host from the check above
    parts = urlsplit(candidate)
    return not parts.scheme and not parts.netloc


def retry_url(request: HttpRequest) -> str:
    """The login page again, still on the way to where the user was going."""
    return f"{reverse('accounts:login')}?{urlencode({'next': safe_next(request, request.POST.get('next'))})}"


def client_name_for(next_url: str) -> str | None:
    """The relying party a login continues to, so the page can say where the user is going."""
    parts = urlsplit(next_url)
    if parts.path != reverse("oidc:authorize"):
        return None
    client_ids = parse_qs(parts.query).get("client_id", [])
    if len(client_ids) != 1 or "\x00" in client_ids[0]:  # PostgreSQL cannot compare text holding NUL
        return None
    app = get_application_model().objects.filter(client_id=client_ids[0]).only("name").first()
    return app.name if app and app.name else None


@method_decorator([never_cache, sensitive_post_parameters("password")], name="dispatch")
class LoginView(View):
    template_name = "accounts/login.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, LoginForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LoginForm(request.POST)
        if not form.is_valid():
            return self.render(request, form, error=_("Enter your username and password."), status=400)
        login, address = form.cleaned_data["login"], request.META.get("REMOTE_ADDR")
        attempt = throttle.begin(login, address)
        if isinstance(attempt, throttle.Refusal):
            return self.refused(request, form, attempt)
        try:
            user = authenticate(request, legacy_login=login, password=form.cleaned_data["password"])
        except LegacySourceUnavailable:
            throttle.released(attempt)
            log.warning("login unavailable: legacy database did not answer")
            response = render(
                request, "accounts/unavailable.html", {"retry_url": retry_url(request)}, status=503
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        except AccountNeedsAttention:
            throttle.released(attempt)
            message = _(
                "This account needs attention from the portal administrators before it can sign in. "
                "Please contact support."
            )
            return self.render(
                request, LoginForm(initial={"login": form.cleaned_data["login"]}), error=message
            )
        if user is None:
            throttle.failed(attempt, address=address)
            # One message for unknown user, wrong password and inactive account: no enumeration.
            message = _("The username or password is incorrect.")
            return self.render(
                request, LoginForm(initial={"login": form.cleaned_data["login"]}), error=message
            )
        throttle.succeeded(attempt)
        start_portal_session(request, request.legacy_login_outcome)  # type: ignore[attr-defined]
        return HttpResponseRedirect(safe_next(request, request.POST.get("next")), status=303)

    def refused(self, request: HttpRequest, form: LoginForm, refusal: throttle.Refusal) -> HttpResponse:
        """Too many failures for this username or address: refuse at once, say when to retry.

        Nothing was verified and nothing reveals whether the username exists: unknown usernames
        are counted and refused exactly like known ones.
        """
        wait = refusal.retry_after()
        if refusal.locked:
            context = {
                "until": refusal.until,
                "minutes": math.ceil(wait / 60),
                "by_address": refusal.scope == LoginThrottle.ADDRESS,
                "retry_url": retry_url(request),
            }
            response = render(request, "accounts/locked.html", context, status=429)
        else:
            message = ngettext(
                "Too many failed attempts. Wait %(seconds)d second before trying again.",
                "Too many failed attempts. Wait %(seconds)d seconds before trying again.",
                wait,
            ) % {"seconds": wait}
            keep = LoginForm(initial={"login": form.cleaned_data["login"]})
            response = self.render(request, keep, error=message, status=429)
        response["Retry-After"] = str(wait)
        return response

    def render(
        self, request: HttpRequest, form: LoginForm, *, error: str | None = None, status: int = 200
    ) -> HttpResponse:
        next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
        context = {
            "form": form,
            "error": error,
            "next": next_url,
            "client_name": client_name_for(next_url),
            "reauthenticating": current_portal_session(request) is not None,
        }
        return render(request, self.template_name, context, status=status)


def logged_out(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/logged_out.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # A stale login form (expired session, back button) is the usual cause: say how to recover.
    return render(request, "accounts/csrf_failure.html", status=403)
