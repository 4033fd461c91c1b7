"""Self-service linking: a signed-in portal user proves which Globus identity is theirs.

Link page → (POST) start → Globus Auth login (must include an identity from this IdP's domain) →
callback: state checked against this browser session, code exchanged, ID token validated, identity
set read → the policy in ``accounts.globus_links`` decides → the page says what happened.

A callback is accepted once: the flow is taken out of the session before anything else, so a
replayed or forged callback finds nothing to complete. Every refusal is an audit event.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import globus, globus_links
from accounts.models import GlobusIdentityLink, Profile
from accounts.session import current_portal_session

log = logging.getLogger("idp_bridge.globus")

FLOW_SESSION_KEY = "bridge_globus_link_flow"
FLOW_SECONDS = 600  # a Globus login that takes longer than this starts again
RETRY_AFTER_SECONDS = 60


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _profile(request: HttpRequest) -> Profile | None:
    session = current_portal_session(request)
    return session.profile if session is not None else None


def _login_redirect(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(reverse("accounts:globus-link"))


def _callback_url() -> str:
    # The public URL (BRIDGE_ISSUER), not the Host header: it must equal the one registered at Globus.
    return settings.BRIDGE_ISSUER + reverse("accounts:globus-callback")


def _refusal_text(reason: str, profile: Profile, identity: globus.GlobusIdentity | None) -> str:
    names = {
        "institution": settings.BRIDGE_INSTITUTION_NAME,
        "domain": settings.BRIDGE_USERNAME_DOMAIN,
        "expected": globus_links.policy_username(profile),
        "username": identity.username if identity is not None else "",
    }
    texts = {
        globus_links.NO_IDENTITY_FROM_IDP: _(
            "Your Globus account has no identity from %(institution)s: you signed in to Globus with "
            "another organization's account, so Globus could not show that this portal account is yours. "
            "Try again and, when Globus asks where to sign in, choose %(institution)s (usernames ending "
            "in @%(domain)s)."
        ),
        globus_links.USERNAME_MISMATCH: _(
            "You signed in to Globus as %(username)s, but this portal account is %(expected)s. "
            "Try again and sign in with this portal account."
        ),
        globus_links.IDENTITY_CLOSED: _(
            "Globus reports the identity %(username)s as closed, so it cannot be linked. "
            "Please contact support."
        ),
        globus_links.NOT_AUTHENTICATED: _(
            "Your Globus account includes %(username)s, but you did not sign in with it this time. "
            "Try again and sign in with %(institution)s."
        ),
        globus_links.LINKED_TO_ANOTHER_ACCOUNT: _(
            "The Globus identity %(username)s is already linked to another portal account. "
            "Please contact support."
        ),
        globus_links.ANOTHER_IDENTITY_LINKED: _(
            "This portal account is already linked to another Globus identity. "
            "Unlink it first if you want to link %(username)s instead."
        ),
    }
    return texts.get(reason, _("This Globus identity cannot be linked to this portal account.")) % names


@method_decorator(never_cache, name="dispatch")
class GlobusLinkView(View):
    template_name = "accounts/globus_link.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        profile = _profile(request)
        if profile is None:
            return _login_redirect(request)
        return render_link_page(request, profile)


def render_link_page(
    request: HttpRequest, profile: Profile, *, status: int = 200, **extra: Any
) -> HttpResponse:
    links = GlobusIdentityLink.objects.filter(subject=profile.subject).order_by("-effective", "created_at")
    context = {
        "configured": globus.is_configured(),
        "effective": next((link for link in links if link.effective), None),
        "others": [link for link in links if not link.effective],
        "expected_username": globus_links.policy_username(profile),
        "required_domain": settings.BRIDGE_USERNAME_DOMAIN,
        **extra,
    }
    response = render(request, GlobusLinkView.template_name, context, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@require_POST
@never_cache
def start_view(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    if profile is None:
        return _login_redirect(request)
    if not globus.is_configured():
        return render_link_page(
            request, profile, status=503, problem=_("Linking to Globus is not available here.")
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    request.session[FLOW_SESSION_KEY] = {
        "state": state,
        "nonce": nonce,
        "sub": profile.sub,
        "started": time.time(),
    }
    url = globus.authorize_url(
        redirect_uri=_callback_url(),
        state=state,
        nonce=nonce,
        required_domain=settings.BRIDGE_USERNAME_DOMAIN,
        reverify=request.POST.get("reverify") == "1",
    )
    return HttpResponseRedirect(url, status=303)


@require_GET
@never_cache
def callback_view(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    if profile is None:
        return _login_redirect(request)
    flow = request.session.pop(FLOW_SESSION_KEY, None)  # taken first: a callback is accepted once
    problem = _callback_problem(request, profile, flow)
    if problem is not None:
        return _refuse(request, profile, problem, status=400)
    assert flow is not None
    try:
        login = globus.complete_login(
            redirect_uri=_callback_url(), code=request.GET["code"], nonce=str(flow["nonce"])
        )
    except globus.GlobusLoginRejected as rejected:
        return _refuse(request, profile, rejected.reason, status=400)
    except (globus.GlobusUnavailable, globus.GlobusRequestRefused, globus.GlobusNotConfigured) as exc:
        log.warning("globus link unavailable: %s", exc)
        globus_links.record_refusal(
            profile, "globus_unavailable", ip_address=_client_ip(request), sub=profile.sub
        )
        text = _("Globus is not answering right now. Nothing was changed; please try again in a few minutes.")
        return render_link_page(request, profile, status=503, problem=text)
    try:
        result = globus_links.link_from_login(profile, login, ip_address=_client_ip(request))
    except globus_links.LinkRefused as refused:
        return render_link_page(
            request,
            profile,
            problem=_refusal_text(refused.reason, profile, refused.identity),
            offer_retry=refused.reason
            in {
                globus_links.NO_IDENTITY_FROM_IDP,
                globus_links.USERNAME_MISMATCH,
                globus_links.NOT_AUTHENTICATED,
            },
        )
    if result.created:
        messages.success(
            request,
            _("Your Globus identity %(username)s is now linked.") % {"username": result.link.username},
        )
    else:
        messages.success(
            request,
            _("Your Globus identity %(username)s was verified again.") % {"username": result.link.username},
        )
    return HttpResponseRedirect(reverse("accounts:globus-link"), status=303)


def _callback_problem(request: HttpRequest, profile: Profile, flow: object) -> str | None:
    """Why this callback cannot complete a flow this browser started (None: it can)."""
    if not isinstance(flow, dict):
        return "no_flow"  # replayed, forged, or started in another browser
    state = request.GET.get("state", "")
    if not secrets.compare_digest(state.encode(), str(flow.get("state", "")).encode()):
        return "bad_state"
    if flow.get("sub") != profile.sub:
        return "bad_state"
    if time.time() - float(flow.get("started", 0)) > FLOW_SECONDS:
        return "flow_expired"
    if "error" in request.GET:
        return "globus_error"
    if not request.GET.get("code"):
        return "no_code"
    return None


def _refuse(request: HttpRequest, profile: Profile, reason: str, *, status: int) -> HttpResponse:
    globus_links.record_refusal(profile, reason, ip_address=_client_ip(request), sub=profile.sub)
    if reason == "globus_error":
        text = _("The Globus sign-in was cancelled or failed. Nothing was linked; you can try again.")
    else:
        text = _(
            "This Globus sign-in could not be verified (it may have expired, been used already, or not "
            "come from Globus). Nothing was linked; please start again."
        )
    return render_link_page(request, profile, status=status, problem=text)


@require_POST
def unlink_view(request: HttpRequest, link_id: int) -> HttpResponse:
    profile = _profile(request)
    if profile is None:
        return _login_redirect(request)
    link = get_object_or_404(GlobusIdentityLink, pk=link_id, subject=profile.subject)
    globus_links.unlink(profile, link, ip_address=_client_ip(request))
    messages.success(
        request, _("The Globus identity %(username)s is no longer linked.") % {"username": link.username}
    )
    return HttpResponseRedirect(reverse("accounts:globus-link"), status=303)
