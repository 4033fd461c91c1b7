"""The signed-in user's own page: the claims relying parties receive, consents, recent sign-ins."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import globus
from accounts.globus_links import effective_link
from accounts.models import Profile
from accounts.session import current_portal_session
from audit.models import AuditEvent
from oidc.claims import CLAIM_LABELS, SCOPE_CLAIMS, released_claims
from oidc.consent import revoke_consent
from oidc.models import Consent

RECENT_SIGN_INS = 10


@method_decorator(never_cache, name="dispatch")
class AccountView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        session = current_portal_session(request)
        if session is None:
            return redirect_to_login(request.get_full_path())
        claims = released_claims(session.profile, SCOPE_CLAIMS.keys())
        context = {
            "claims": [(CLAIM_LABELS.get(name, name), value) for name, value in claims.items()],
            "consents": Consent.objects.filter(user=session.user).select_related("application"),
            "recent_sign_ins": recent_sign_ins(session.profile),
            "auth_time": session.auth_time,
            **globus_context(session.profile),
        }
        return render(request, "oidc/account.html", context)


def globus_context(profile: Profile) -> dict[str, object]:
    """The linked Globus identity, and the linking page when linking is switched on."""
    if not globus.is_configured():
        return {}
    return {
        "globus_link": effective_link(profile.subject),
        "globus_manage_url": reverse("accounts:globus-link"),
    }


def recent_sign_ins(profile: Profile) -> Sequence[AuditEvent]:
    """Successful logins to this account, newest first, from the audit trail.

    Matched on the legacy id as well as the local user: the audit trail is keyed on the legacy
    account, and ``sub`` belongs to that id alone (DECISIONS.md).
    """
    return list(
        AuditEvent.objects.filter(
            event="login.succeeded", user=profile.user, legacy_id=profile.legacy_id
        ).only("occurred_at", "ip_address")[:RECENT_SIGN_INS]
    )


@require_POST
def revoke_consent_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    session = current_portal_session(request)
    if session is None:
        return redirect_to_login(reverse("oidc:account"))
    consent = get_object_or_404(Consent, pk=consent_id, user=session.user)
    name = consent.application.name or consent.application.client_id
    revoke_consent(consent, by="user")
    messages.success(
        request, _("%(client)s can no longer use your account; its tokens were revoked.") % {"client": name}
    )
    return HttpResponseRedirect(reverse("oidc:account"), status=303)
