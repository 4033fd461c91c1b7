"""OpenID Connect endpoints: DOT's views, with the standards gaps of stock DOT closed.

The authorization endpoint decides, with the browser session in hand, everything oauthlib cannot
see: prompt, max_age, id_token_hint, a requested ``sub`` and consent. Errors go to the redirect URI
only once the client and the exact redirect URI are known; otherwise the user gets an error page.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import UnreadablePostError
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from accounts.session import PortalSession, current_portal_session
from oidc import claims as claims_module
from oidc import discovery, keys
from oidc.consent import has_consent, record_consent
from oidc.introspection import introspect
from oidc.models import Application
from oidc.server import GRANT_TYPES

log = logging.getLogger("idp_bridge.oidc")

KNOWN_PROMPTS = {"none", "login", "consent", "select_account"}
# Parameters oauthlib does not already refuse to see twice.
SINGLE_VALUED = (
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "id_token_hint",
    "login_hint",
    "ui_locales",
    "acr_values",
    "display",
    "response_mode",
    "request",
    "request_uri",
)


class AuthorizationProblem(Exception):
    def __init__(self, error: oauth_errors.OAuth2Error) -> None:
        super().__init__(error.error)
        self.error = error


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(dot_views.AuthorizationView):
    template_name = "oidc/consent.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Not LoginRequiredMixin's dispatch: a bad client or redirect URI gets an error page, and
        # prompt=none gets login_required at the redirect URI, before anyone is sent to log in.
        self.oauth2_data = {}
        return View.dispatch(self, request, *args, **kwargs)

    # --- GET: the authorization request ----------------------------------------------------------
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if len(request.GET.getlist("redirect_uri")) != 1:
            return self.error_page(
                request, "invalid_request", "The request must name exactly one redirect_uri."
            )
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=self.redirectable_client(request, error))
        application = Application.objects.get(client_id=credentials["client_id"])
        try:
            return self.decide(request, application, scopes, credentials)
        except AuthorizationProblem as problem:
            problem.error.state = credentials.get("state")
            problem.error.redirect_uri = credentials["redirect_uri"]
            return self.error_response(OAuthToolkitError(error=problem.error), application)

    def decide(
        self, request: HttpRequest, application: Application, scopes: list[str], credentials: dict[str, Any]
    ) -> HttpResponse:
        check_extra_parameters(request)
        openid = "openid" in scopes
        prompt = set(request.GET.get("prompt", "").split()) & KNOWN_PROMPTS
        if "none" in prompt and len(prompt) > 1:
            raise AuthorizationProblem(
                oauth_errors.InvalidRequestError(description="prompt=none must stand alone")
            )
        claims_request = credentials.get("claims") if openid else None
        if claims_request is not None and (why := claims_module.validate_claims_request(claims_request)):
            raise AuthorizationProblem(oauth_errors.InvalidRequestError(description=why))
        hinted_sub = hinted_subject(request.GET.get("id_token_hint")) if openid else None
        max_age = parse_max_age(request.GET.get("max_age"))

        session = current_portal_session(request)
        if session is None or prompt & {"login", "select_account"} or too_old(session, max_age):
            if "none" in prompt:
                raise AuthorizationProblem(oidc_errors.LoginRequired())
            return self.send_to_login(request)
        for wanted in (hinted_sub, claims_module.requested_sub(claims_request)):
            if wanted is not None and wanted != session.profile.sub:
                raise AuthorizationProblem(
                    oidc_errors.LoginRequired(
                        description="The signed-in user is not the user the client asked for."
                    )
                )

        claim_names = claims_module.claim_names_for(scopes, claims_request)
        if application.skip_authorization or (
            "consent" not in prompt and has_consent(session.user, application, scopes, claim_names)
        ):
            uri, _headers, _body, _status = self.create_authorization_response(
                request, " ".join(scopes), credentials, allow=True
            )
            return self.redirect(uri, application)
        if "none" in prompt:
            raise AuthorizationProblem(oidc_errors.ConsentRequired())
        return self.show_consent(request, application, scopes, credentials, session, claim_names)

    @staticmethod
    def redirectable_client(request: HttpRequest, error: OAuthToolkitError) -> Application | None:
        """The client, if an error oauthlib raised may go back to its (verified) redirect URI.

        oauthlib raises some errors (a malformed ``claims``) before it records the redirect URI on
        them; once the client and the exact redirect URI are known the error belongs to the client.
        """
        if isinstance(error, FatalClientError) or error.oauthlib_error.redirect_uri:
            return None
        application = Application.objects.filter(client_id=request.GET.get("client_id", "")).first()
        redirect_uri = request.GET.get("redirect_uri", "")
        if application is None or not application.redirect_uri_allowed(redirect_uri):
            return None
        error.oauthlib_error.redirect_uri = redirect_uri
        error.oauthlib_error.state = request.GET.get("state")
        return application

    def send_to_login(self, request: HttpRequest) -> HttpResponse:
        # The login page always checks the password, so once it sends the user back the request is
        # satisfied: drop prompt=login and max_age from the return URL, or max_age=0 would loop.
        query = request.GET.copy()
        remaining = [p for p in query.get("prompt", "").split() if p not in {"login", "select_account"}]
        query.pop("max_age", None)
        if remaining:
            query["prompt"] = " ".join(remaining)
        else:
            query.pop("prompt", None)
        return redirect_to_login(f"{request.path}?{query.urlencode()}", settings.LOGIN_URL)

    def show_consent(
        self,
        request: HttpRequest,
        application: Application,
        scopes: list[str],
        credentials: dict[str, Any],
        session: PortalSession,
        claim_names: list[str],
    ) -> HttpResponse:
        self.oauth2_data = {
            "application": application,
            "client_id": credentials["client_id"],
            "redirect_uri": credentials["redirect_uri"],
            "response_type": credentials["response_type"],
            "state": credentials.get("state"),
            "scopes": scopes,
            "nonce": credentials.get("nonce"),
            "code_challenge": credentials.get("code_challenge"),
            "code_challenge_method": credentials.get("code_challenge_method"),
            "claims": json.dumps(credentials["claims"]) if credentials.get("claims") else None,
        }
        released = claims_module.released_claims(session.profile, scopes, credentials.get("claims"))
        context = {
            "form": self.get_form(self.get_form_class()),
            "application": application,
            "released": [(name, released.get(name)) for name in claim_names],
            "scopes": scopes,
        }
        return self.render_to_response(context)

    # --- POST: the consent form --------------------------------------------------------------------
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if current_portal_session(request) is None:
            return self.error_page(
                request,
                "login_required",
                "Your sign-in expired. Go back to the application and sign in again.",
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        return self.error_page(self.request, "invalid_request", "The consent form was incomplete.")

    def form_valid(self, form: Any) -> HttpResponse:
        application = Application.objects.filter(client_id=form.cleaned_data.get("client_id")).first()
        if application is None:
            return self.error_page(self.request, "invalid_client", "Unknown client.")
        response = super().form_valid(form)
        if (
            form.cleaned_data.get("allow")
            and response.status_code == 302
            and "code=" in response.get("Location", "")
        ):
            raw_claims = form.cleaned_data.get("claims")
            claims_request = _parse_json_object(raw_claims)
            scopes = form.cleaned_data.get("scope", "").split()
            record_consent(
                self.request.user, application, scopes, claims_module.claim_names_for(scopes, claims_request)
            )
        return response

    # --- shared ------------------------------------------------------------------------------------
    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        session = current_portal_session(request)
        if session is not None:
            credentials.update(
                bridge_auth_time=session.auth_time,
                bridge_amr=list(session.amr),
                bridge_acr=settings.BRIDGE_ACR,
            )
        return super().create_authorization_response(request, scopes, credentials, allow)

    def error_response(
        self, error: OAuthToolkitError, application: Application | None, **kwargs: Any
    ) -> HttpResponse:
        oauthlib_error = error.oauthlib_error
        if isinstance(error, FatalClientError) or not oauthlib_error.redirect_uri:
            # Client or redirect URI unknown: never redirect anywhere (RFC 6749 4.1.2.1).
            return self.error_page(
                self.request, oauthlib_error.error, oauthlib_error.description, oauthlib_error.status_code
            )
        params = [*oauthlib_error.twotuples, ("iss", settings.BRIDGE_ISSUER)]
        return self.redirect(add_params_to_uri(oauthlib_error.redirect_uri, params), application)

    def error_page(
        self, request: HttpRequest, error: str, description: str | None, status: int = 400
    ) -> HttpResponse:
        return render(
            request, "oidc/error.html", {"error": error, "description": description}, status=max(status, 400)
        )


def _parse_json_object(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def check_extra_parameters(request: HttpRequest) -> None:
    for name in SINGLE_VALUED:
        if len(request.GET.getlist(name)) > 1:
            raise AuthorizationProblem(oauth_errors.InvalidRequestError(description=f"{name} is repeated"))
    if "request" in request.GET:
        raise AuthorizationProblem(
            oauth_errors.CustomOAuth2Error("request_not_supported", "Request objects are not supported.")
        )
    if "request_uri" in request.GET:
        raise AuthorizationProblem(
            oauth_errors.CustomOAuth2Error("request_uri_not_supported", "request_uri is not supported.")
        )
    if request.GET.get("response_mode", "query") != "query":
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(description="Only response_mode=query is supported.")
        )
    if "code_challenge" in request.GET and request.GET.get("code_challenge_method") != "S256":
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(description="code_challenge_method must be S256.")
        )


def parse_max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(description="max_age must be a non-negative integer")
        )
    return int(raw)


def too_old(session: PortalSession, max_age: int | None) -> bool:
    return max_age is not None and timezone.now() - session.auth_time > timedelta(seconds=max_age)


def hinted_subject(id_token_hint: str | None) -> str | None:
    if id_token_hint is None:
        return None
    try:
        hinted = keys.verify_own_jwt(id_token_hint)
    except keys.InvalidJWT:
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(
                description="id_token_hint is not an ID token issued by this provider"
            )
        ) from None
    sub = hinted.get("sub")
    if not isinstance(sub, str):
        raise AuthorizationProblem(oauth_errors.InvalidRequestError(description="id_token_hint has no sub"))
    return sub


# --- token-side endpoints -------------------------------------------------------------------------
def oauth_error(status: int, error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def form_problem(request: HttpRequest) -> JsonResponse | None:
    """RFC 6749 3.2 and 5.2 rules for a form-encoded POST that oauthlib does not enforce."""
    try:
        form = request.POST
    except (RequestDataTooBig, TooManyFieldsSent, UnreadablePostError):
        return oauth_error(400, "invalid_request", "The request is too large.")
    repeated = sorted(name for name, values in form.lists() if len(values) > 1)
    if repeated:
        return oauth_error(400, "invalid_request", f"{repeated[0]} is repeated.")
    if request.headers.get("Authorization", "").startswith("Basic ") and "client_secret" in form:
        return oauth_error(400, "invalid_request", "Use one client authentication method, not two.")
    return None


class OAuthFormEndpoint:
    """Token, revocation and introspection: strict form parsing and the right 401 challenge."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and (problem := form_problem(request)):
            return problem
        response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 401:
            # RFC 6749 5.2: the challenge names the scheme the client authenticates with.
            response["WWW-Authenticate"] = 'Basic realm="idp-bridge", error="invalid_client"'
        return response


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(OAuthFormEndpoint, dot_views.TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is required.")
        if grant_type not in GRANT_TYPES:
            return oauth_error(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")
        return super().post(request, *args, **kwargs)


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """Bearer token in the Authorization header (GET or POST) or in a POST form body (RFC 6750 2.1-2.2)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            # RFC 9700 4.3.2: a token in the URL ends up in logs and Referer headers.
            return bearer_error(400, "invalid_request", "Send the access token in the Authorization header.")
        if request.method == "POST":
            try:
                in_body = request.POST.getlist("access_token")
            except (RequestDataTooBig, TooManyFieldsSent, UnreadablePostError):
                return bearer_error(400, "invalid_request", "The request is too large.")
            if len(in_body) > 1 or (in_body and "Authorization" in request.headers):
                # RFC 6750 2: one method of sending the token per request.
                return bearer_error(400, "invalid_request", "Send the access token once.")
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


def bearer_error(status: int, error: str, description: str) -> JsonResponse:
    response = oauth_error(status, error, description)
    response["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    return response


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthFormEndpoint, OAuthLibMixin, View):
    """RFC 7662 for the calling client's own tokens."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        token = request.POST.get("token")
        if not token:
            return oauth_error(400, "invalid_request", "token is required.")
        result = introspect(token, oauth_request.client, request.POST.get("token_type_hint"))
        response = JsonResponse(result)
        response["Cache-Control"] = "no-store"
        return response


@method_decorator(csrf_exempt, name="dispatch")
class RevokeView(OAuthFormEndpoint, dot_views.RevokeTokenView):
    """RFC 7009 through oauthlib; the validator scopes revocation to the calling client."""


class LogoutView(dot_views.RPInitiatedLogoutView):
    template_name = "oidc/logout_confirm.html"

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        from oauth2_provider.exceptions import InvalidOIDCClientError

        if client_id:
            application = Application.objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token else None

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        token_user: Any = None,
    ) -> HttpResponse:
        response = super().do_logout(application, post_logout_redirect_uri, state, token_user)
        if not post_logout_redirect_uri:
            from django.urls import reverse

            return OAuth2ResponseRedirect(
                self.request.build_absolute_uri(reverse("accounts:logged_out")), ["http", "https"]
            )
        return response


# --- metadata -------------------------------------------------------------------------------------
def _cacheable_json(request: HttpRequest, body: bytes, max_age: int) -> HttpResponse:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=max_age)
    return response


def discovery_view(request: HttpRequest) -> HttpResponse:
    return _cacheable_json(request, discovery.document_bytes(), max_age=3600)


def jwks_view(request: HttpRequest) -> HttpResponse:
    body = json.dumps(keys.jwks_document(), separators=(",", ":")).encode()
    return _cacheable_json(request, body, max_age=keys.JWKS_MAX_AGE_SECONDS)
