"""The signed-in user's own page: the claims relying parties receive, consents, recent sign-ins."""

from __future__ import annotations

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

from accounts.session import current_portal_session
from oidc.claims import SCOPE_CLAIMS, released_claims
from oidc.consent import revoke_consent
from oidc.models import Consent


@method_decorator(never_cache, name="dispatch")
class AccountView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        session = current_portal_session(request)
        if session is None:
            return redirect_to_login(request.get_full_path())
        claims = released_claims(session.profile, SCOPE_CLAIMS.keys())
        context = {
            "claims": claims,
            "consents": Consent.objects.filter(user=session.user).select_related("application"),
            "recent_sign_ins": session.user.auth_events.all()[:5],
            "auth_time": session.auth_time,
        }
        return render(request, "oidc/account.html", context)


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
