"""OpenID Connect endpoints: DOT's views, with the standards gaps of stock DOT closed.

The authorization endpoint decides, with the browser session in hand, everything oauthlib cannot
see: prompt, max_age, id_token_hint, a requested ``sub`` and consent. Errors go to the redirect URI
only once the client and the exact redirect URI are known; otherwise the user gets an error page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    FatalClientError,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    OAuthToolkitError,
)
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from accounts.models import Profile
from accounts.session import PortalSession, current_portal_session
from accounts.state import account_state
from oidc import claims as claims_module
from oidc import discovery, keys
from oidc.clients import find_client
from oidc.consent import has_consent, record_consent
from oidc.introspection import introspect
from oidc.models import Application
from oidc.server import GRANT_TYPES
from oidc.validators import client_read_in_this_request, clients_read_once

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


PENDING_KEY = "bridge_pending_authorizations"
PENDING_LIMIT = 5
PENDING_SECONDS = 900  # how long a consent page or a login detour may take
REAUTH_PARAM = "bridge_reauth"
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), RFC 7636 4.2


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(OAuthLibMixin, View):
    """The authorization endpoint.

    Not DOT's AuthorizationView: that one sends anonymous users to log in before validating the
    request (a bad client would see a login page) and carries the validated request through hidden
    form fields that the browser can change. Here a validated request that needs the user's consent
    is kept server-side in the session, and the consent form carries only its id.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with clients_read_once():
            return super().dispatch(request, *args, **kwargs)

    # --- GET: the authorization request ----------------------------------------------------------
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if len(request.GET.getlist("redirect_uri")) != 1:
            return error_page(
                request,
                "invalid_request",
                "The request must name exactly one redirect_uri.",
                explanation=str(BAD_REDIRECT),
            )
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, redirectable_client(request, error))
        application = client_read_in_this_request(credentials["client_id"]) or Application.objects.get(
            client_id=credentials["client_id"]
        )
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
        if "openid" not in scopes:
            raise AuthorizationProblem(
                oauth_errors.InvalidScopeError(
                    description="This provider signs people in: include the openid scope."
                )
            )
        prompt = set(request.GET.get("prompt", "").split()) & KNOWN_PROMPTS
        if "none" in prompt and len(prompt) > 1:
            raise AuthorizationProblem(
                oauth_errors.InvalidRequestError(description="prompt=none must stand alone")
            )
        claims_request = credentials.get("claims")
        if claims_request is not None and (why := claims_module.validate_claims_request(claims_request)):
            raise AuthorizationProblem(oauth_errors.InvalidRequestError(description=why))
        if not claims_module.acr_satisfiable(claims_request, settings.BRIDGE_ACR):
            raise AuthorizationProblem(
                oauth_errors.AccessDeniedError(
                    description="The essential authentication context (acr) cannot be met."
                )
            )
        hinted_sub = hinted_subject(request.GET.get("id_token_hint"))
        max_age = parse_max_age(request.GET.get("max_age"))

        session = current_portal_session(request)
        if session is not None and not account_state(session.profile).usable:
            logout(request)  # the portal account was suspended or deleted since this session began
            session = None
        fresh_login_demanded = bool(prompt & {"login", "select_account"}) or too_old(session, max_age)
        if session is None or (fresh_login_demanded and not reauthenticated(request, session, credentials)):
            if "none" in prompt:
                raise AuthorizationProblem(oidc_errors.LoginRequired())
            return send_to_login(request, credentials)
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
            return self.issue_code(request, application, scopes, credentials)
        if "none" in prompt:
            raise AuthorizationProblem(oidc_errors.ConsentRequired())
        return self.show_consent(request, application, scopes, credentials, session, claim_names)

    def show_consent(
        self,
        request: HttpRequest,
        application: Application,
        scopes: list[str],
        credentials: dict[str, Any],
        session: PortalSession,
        claim_names: list[str],
    ) -> HttpResponse:
        pending_id = remember_pending(request, scopes, credentials)
        released = claims_module.released_claims(session.profile, scopes, credentials.get("claims"))
        context = {
            "application": application,
            # Where the user goes next, so a look-alike application name cannot hide it.
            "return_host": urlsplit(credentials["redirect_uri"]).hostname,
            "pending_id": pending_id,
            "released": [
                (claims_module.CLAIM_LABELS.get(n, n), released[n]) for n in claim_names if n in released
            ],
        }
        return render(request, "oidc/consent.html", context)

    # --- POST: the consent form --------------------------------------------------------------------
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if current_portal_session(request) is None:
            return error_page(
                request,
                "login_required",
                "The portal session ended before consent was given.",
                explanation=_("Your sign-in expired. Go back to the application and sign in again."),
            )
        pending = take_pending(request, request.POST.get("pending", ""))
        if pending is None:
            return error_page(
                request,
                "invalid_request",
                "The consent form was already used or has expired.",
                explanation=_("This consent page has expired. Go back to the application and try again."),
            )
        scopes, credentials = pending
        application = Application.objects.filter(client_id=credentials["client_id"]).first()
        if application is None:
            return error_page(
                request,
                "invalid_client",
                "The client was removed while the user was deciding.",
                explanation=_("The application is no longer registered with this sign-in service."),
            )
        if "allow" not in request.POST:
            error = oauth_errors.AccessDeniedError(state=credentials.get("state"))
            error.redirect_uri = credentials["redirect_uri"]
            return self.error_response(OAuthToolkitError(error=error), application)
        if request.POST.get("remember"):  # "Remember my choice", ticked by default on the page
            claim_names = claims_module.claim_names_for(scopes, credentials.get("claims"))
            record_consent(request.user, application, scopes, claim_names)
        return self.issue_code(request, application, scopes, credentials)

    # --- shared ------------------------------------------------------------------------------------
    def issue_code(
        self, request: HttpRequest, application: Application, scopes: list[str], credentials: dict[str, Any]
    ) -> HttpResponse:
        session = current_portal_session(request)
        assert session is not None
        credentials = dict(
            credentials,
            bridge_auth_time=session.auth_time,
            bridge_amr=list(session.amr),
            bridge_acr=settings.BRIDGE_ACR,
        )
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request, " ".join(scopes), credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return redirect_to_client(uri, application)

    def error_response(
        self, error: OAuthToolkitError, application: Application | None, **kwargs: Any
    ) -> HttpResponse:
        oauthlib_error = error.oauthlib_error
        if isinstance(error, FatalClientError) or not oauthlib_error.redirect_uri or application is None:
            # Client or redirect URI unknown: never redirect anywhere (RFC 6749 4.1.2.1).
            return error_page(
                self.request,
                oauthlib_error.error,
                oauthlib_error.description,
                oauthlib_error.status_code,
                explanation=explain(oauthlib_error),
            )
        params = [*oauthlib_error.twotuples, ("iss", settings.BRIDGE_ISSUER)]
        return redirect_to_client(add_params_to_uri(oauthlib_error.redirect_uri, params), application)


def redirect_to_client(uri: str, application: Application) -> HttpResponse:
    return OAuth2ResponseRedirect(uri, application.get_allowed_schemes())


# What the user reads on the error page: plain words in their language. The OAuth error code and
# oauthlib's English description stay below them, for the application's administrators.
UNKNOWN_CLIENT = gettext_lazy(
    "The application that sent you here is not registered with this sign-in service, "
    "or the link you followed is damaged."
)
BAD_REDIRECT = gettext_lazy(
    "The application asked to send you back to an address it has not registered here. "
    "To protect your account, you were not sent there."
)


def explain(error: oauth_errors.OAuth2Error) -> str | None:
    """Plain words for the errors that stop at the bridge's own page (RFC 6749 4.1.2.1), or None."""
    if isinstance(
        error,
        oauth_errors.InvalidClientIdError
        | oauth_errors.MissingClientIdError
        | oauth_errors.InvalidClientError,
    ):
        return str(UNKNOWN_CLIENT)
    if isinstance(
        error,
        oauth_errors.MismatchingRedirectURIError
        | oauth_errors.InvalidRedirectURIError
        | oauth_errors.MissingRedirectURIError,
    ):
        return str(BAD_REDIRECT)
    return None


def error_page(
    request: HttpRequest,
    error: str,
    description: str | None,
    status: int = 400,
    *,
    explanation: str | None = None,
) -> HttpResponse:
    context = {"error": error, "description": description, "explanation": explanation}
    return render(request, "oidc/error.html", context, status=max(status, 400))


def redirectable_client(request: HttpRequest, error: OAuthToolkitError) -> Application | None:
    """The client, if an error oauthlib raised may go back to its (verified) redirect URI.

    oauthlib raises some errors (a malformed ``claims``) before it records the redirect URI on
    them; once the client and the exact redirect URI are known the error belongs to the client.
    """
    if isinstance(error, FatalClientError):
        return None
    application = find_client(request.GET.get("client_id"))
    redirect_uri = request.GET.get("redirect_uri", "")
    if application is None or not application.redirect_uri_allowed(redirect_uri):
        return None
    if not error.oauthlib_error.redirect_uri:
        error.oauthlib_error.redirect_uri = redirect_uri
        error.oauthlib_error.state = request.GET.get("state")
    return application


# --- the validated request, kept server-side between the pages ----------------------------------
PENDING_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "claims",
)


def remember_pending(request: HttpRequest, scopes: list[str], credentials: dict[str, Any]) -> str:
    pending = {k: v for k, v in request.session.get(PENDING_KEY, {}).items() if v["until"] > time.time()}
    while len(pending) >= PENDING_LIMIT:
        pending.pop(min(pending, key=lambda k: pending[k]["until"]))
    pending_id = secrets.token_urlsafe(24)
    pending[pending_id] = {
        "until": time.time() + PENDING_SECONDS,
        "scopes": scopes,
        "credentials": {k: credentials[k] for k in PENDING_FIELDS if credentials.get(k) is not None},
    }
    request.session[PENDING_KEY] = pending
    return pending_id


def take_pending(request: HttpRequest, pending_id: str) -> tuple[list[str], dict[str, Any]] | None:
    pending = request.session.get(PENDING_KEY, {})
    entry = pending.pop(pending_id, None) if isinstance(pending_id, str) else None
    request.session[PENDING_KEY] = pending
    if entry is None or entry["until"] <= time.time():
        return None
    return entry["scopes"], entry["credentials"]


# --- re-authentication that cannot be skipped --------------------------------------------------
def _request_fingerprint(credentials: dict[str, Any]) -> str:
    parts = [credentials.get(k) or "" for k in ("client_id", "redirect_uri", "state", "nonce")]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def send_to_login(request: HttpRequest, credentials: dict[str, Any]) -> HttpResponse:
    """Send the user to the login page; the way back carries a signed "logged in after T" marker.

    prompt=login and max_age stay in the return URL: the marker, bound to this authorization
    request and valid for a short time, is what shows they were satisfied. Dropping the marker
    brings the requirement back; it cannot be forged, moved to another request or replayed later.
    """
    query = request.GET.copy()
    query[REAUTH_PARAM] = signing.dumps(
        {"t": time.time(), "r": _request_fingerprint(credentials)}, salt="idp-bridge.reauth", compress=True
    )
    return redirect_to_login(f"{request.path}?{query.urlencode()}", settings.LOGIN_URL)


def reauthenticated(request: HttpRequest, session: PortalSession, credentials: dict[str, Any]) -> bool:
    marker = request.GET.get(REAUTH_PARAM)
    if not marker:
        return False
    try:
        data = signing.loads(marker, salt="idp-bridge.reauth", max_age=PENDING_SECONDS)
    except signing.BadSignature:
        return False
    return data.get("r") == _request_fingerprint(credentials) and session.auth_time.timestamp() >= data.get(
        "t", 1e18
    )


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
    if "code_challenge" in request.GET and (
        request.GET.get("code_challenge_method") != "S256"
        or not PKCE_CHALLENGE.match(request.GET["code_challenge"])
    ):
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(
                description="code_challenge must be the 43-character base64url SHA-256 of the verifier, "
                "with code_challenge_method=S256."
            )
        )


def parse_max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise AuthorizationProblem(
            oauth_errors.InvalidRequestError(description="max_age must be a non-negative integer")
        )
    return int(raw)


def too_old(session: PortalSession | None, max_age: int | None) -> bool:
    return (
        session is not None
        and max_age is not None
        and timezone.now() - session.auth_time > timedelta(seconds=max_age)
    )


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
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# What reading a form body can raise: too big, too many fields, cut off, a multipart body without
# a boundary, or not UTF-8 (a declared charset=latin-1 is a BadRequest in Django 5).
UNREADABLE_FORM = (
    RequestDataTooBig,
    TooManyFieldsSent,
    UnreadablePostError,
    MultiPartParserError,
    BadRequest,
)
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 4.1


def oauth_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status, headers=NO_STORE)


def uses_basic_auth(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").partition(" ")[0].lower() == "basic"


def form_problem(request: HttpRequest) -> JsonResponse | None:
    """RFC 6749 3.2 and 5.2 rules for a form-encoded POST that oauthlib does not enforce."""
    try:
        form = request.POST
    except UNREADABLE_FORM:
        return oauth_error(
            400, "invalid_request", "The request body cannot be read (too large, malformed or not UTF-8)."
        )
    repeated = sorted(name for name, values in form.lists() if len(values) > 1)
    if repeated:
        return oauth_error(400, "invalid_request", f"{repeated[0]} is repeated.")
    if uses_basic_auth(request) and "client_secret" in form:
        return oauth_error(400, "invalid_request", "Use one client authentication method, not two.")
    return None


class OAuthFormEndpoint:
    """Token, revocation and introspection: strict form parsing, no caching, the right 401 challenge."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and (problem := form_problem(request)):
            return problem
        response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        for header, value in NO_STORE.items():
            response[header] = value
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
        if grant_type == "authorization_code" and not request.POST.get("redirect_uri"):
            # RFC 6749 4.1.3: required, since every authorization request here names one.
            return oauth_error(400, "invalid_request", "redirect_uri is required.")
        verifier = request.POST.get("code_verifier")
        if verifier is not None and not PKCE_VERIFIER.match(verifier):
            return oauth_error(400, "invalid_request", "code_verifier must be 43-128 unreserved characters.")
        # The signing key comes from this worker's key snapshot; refresh it, if due, outside the
        # transaction so that it can be kept (oidc.keys.key_snapshot).
        keys.key_snapshot()
        # One transaction: the grant and refresh-token row locks taken by the validator hold until
        # the new tokens are written, so concurrent uses of one code or refresh token never 500.
        with transaction.atomic():
            return super().post(request, *args, **kwargs)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """DOT's, without looking the new access token up again when nobody listens for
        ``app_authorized`` (nothing in the bridge does): one query less per token request."""
        if app_authorized.has_listeners():
            return super().authorization_flow_token_response(request, *args, **kwargs)
        _url, headers, body, status = self.create_token_response(request)
        # Errors raised while the tokens are saved (invalid_target) come without headers: the body
        # is JSON all the same (RFC 6749 5.2).
        response = HttpResponse(content=body, status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(dot_views.UserInfoView):
    """Bearer token in the Authorization header (GET or POST) or in a POST form body (RFC 6750 2.1-2.2)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET:
            # RFC 9700 4.3.2: a token in the URL ends up in logs and Referer headers.
            return bearer_error(400, "invalid_request", "Send the access token in the Authorization header.")
        header_scheme, _, header_token = request.headers.get("Authorization", "").partition(" ")
        in_header = header_token.strip() if header_scheme.lower() == "bearer" else ""
        in_body: list[str] = []
        if request.method == "POST":
            try:
                in_body = request.POST.getlist("access_token")
            except UNREADABLE_FORM:
                return bearer_error(
                    400,
                    "invalid_request",
                    "The request body cannot be read (too large, malformed or not UTF-8).",
                )
        if len(in_body) > 1 or (in_body and "Authorization" in request.headers):
            # RFC 6750 2: one method of sending the token per request.
            return bearer_error(400, "invalid_request", "Send the access token once.")
        token = in_header or (in_body[0] if in_body else "")
        if not token:
            # RFC 6750 3.1: a request without credentials gets a challenge but no error code.
            return HttpResponse(
                status=401, headers={"WWW-Authenticate": 'Bearer realm="idp-bridge"', **NO_STORE}
            )
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 401:
            response = self.explain_refusal(token)
        for header, value in NO_STORE.items():
            response[header] = value
        return response

    def explain_refusal(self, token: str) -> JsonResponse:
        from oidc.validators import BridgeValidator, account_usable

        access_token = BridgeValidator()._load_access_token(token)
        if access_token is not None and access_token.is_valid() and account_usable(access_token.user):
            # A live token without the openid scope (OIDC Core 5.3.3, RFC 6750 3.1).
            return bearer_error(
                403, "insufficient_scope", "The access token was not granted the openid scope."
            )
        return bearer_error(401, "invalid_token", "The access token is invalid, expired or revoked.")


def bearer_error(status: int, error: str, description: str) -> JsonResponse:
    response = oauth_error(status, error, description)
    response["WWW-Authenticate"] = (
        f'Bearer realm="idp-bridge", error="{error}", error_description="{description}"'
    )
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


@method_decorator(never_cache, name="dispatch")
class LogoutView(dot_views.RPInitiatedLogoutView):
    """RP-Initiated Logout 1.0 on DOT's view, with hints verified like everywhere else in the bridge.

    An ``id_token_hint`` is checked with the bridge's keys (expired tokens accepted, as the spec
    allows) rather than DOT's stored-token lookup, so hints keep working after key rotation and
    token cleanup. A hint that cannot be verified is an error page, never a redirect.
    """

    template_name = "oidc/logout_confirm.html"

    def validate_logout_request_user(self, id_token_hint: str | None, client_id: str | None) -> Any:
        if not id_token_hint:
            return None
        try:
            claims = keys.verify_own_jwt(id_token_hint)
        except keys.InvalidJWT:
            raise InvalidIDTokenError() from None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if client_id and client_id not in audiences:
            raise ClientIdMissmatch()
        return HintedLogout(claims, audiences)

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        wanted = client_id or (id_token.audiences[0] if id_token is not None else None)
        if not wanted:
            return None
        application = find_client(wanted)
        if application is None:
            raise InvalidOIDCClientError()
        return application

    def validate_logout_request(
        self, id_token_hint: Any, client_id: Any, post_logout_redirect_uri: Any
    ) -> Any:
        hinted = self.validate_logout_request_user(id_token_hint, client_id)
        application = self.get_request_application(hinted, client_id)
        self.validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        return application, hinted.user if hinted is not None else None

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        token_user: Any = None,
    ) -> HttpResponse:
        if post_logout_redirect_uri:
            return super().do_logout(application, post_logout_redirect_uri, state, token_user)
        logout(self.request)
        return HttpResponseRedirect(reverse("accounts:logged_out"))


class HintedLogout:
    """The user an ID token hint names (None if that user is gone) and the clients it was for."""

    def __init__(self, claims: dict[str, Any], audiences: list[Any]) -> None:
        self.audiences = [a for a in audiences if isinstance(a, str)]
        profile = Profile.objects.select_related("user").filter(subject__sub=claims.get("sub")).first()
        self.user = profile.user if profile is not None else None


# --- metadata -------------------------------------------------------------------------------------
def _cacheable_json(request: HttpRequest, body: bytes, etag: str, max_age: int) -> HttpResponse:
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=max_age)
    return response


def discovery_view(request: HttpRequest) -> HttpResponse:
    return _cacheable_json(request, discovery.document_bytes(), discovery.document_etag(), max_age=3600)


def jwks_view(request: HttpRequest) -> HttpResponse:
    """The published keys from this worker's key snapshot: no query, no serialisation per request."""
    snapshot = keys.key_snapshot()
    return _cacheable_json(
        request, snapshot.jwks_body, snapshot.jwks_etag, max_age=keys.JWKS_HTTP_MAX_AGE_SECONDS
    )
