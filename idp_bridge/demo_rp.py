"""Demo mode only: a tiny relying party that uses the bridge exactly as Globus Auth would.

It runs the authorization code flow with PKCE, exchanges the code over real HTTP with
client_secret_basic, validates the ID token against the published JWKS, calls userinfo, and shows
what it received. Its state lives in its own signed cookie, as a separate site's would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from jwcrypto import jwk, jwt

app_name = "demo_rp"
COOKIE = "demo_rp_state"
SCOPES = "openid profile email"


def _callback_url() -> str:
    return settings.BRIDGE_ISSUER + reverse("demo_rp:callback")


def _http_json(
    url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310 (our own issuer)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo_rp/home.html", {"scopes": SCOPES})


def start(request: HttpRequest) -> HttpResponse:
    verifier = secrets.token_urlsafe(48)
    state = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16), "verifier": verifier}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": "demo-rp",
        "redirect_uri": _callback_url(),
        "scope": SCOPES,
        "state": state["state"],
        "nonce": state["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if request.GET.get("prompt") in ("login", "consent"):
        params["prompt"] = request.GET["prompt"]
    response = HttpResponseRedirect(reverse("oidc:authorize") + "?" + urllib.parse.urlencode(params))
    response.set_signed_cookie(
        COOKIE, json.dumps(state), salt=COOKIE, max_age=600, httponly=True, samesite="Lax"
    )
    return response


def callback(request: HttpRequest) -> HttpResponse:
    from idp_bridge.management.commands.demo_setup import DEMO_CLIENT_ID, demo_client_secret

    try:
        state = json.loads(request.get_signed_cookie(COOKIE, salt=COOKIE, max_age=600) or "")
    except (KeyError, ValueError, signing.BadSignature):
        state = None
    if not isinstance(state, dict):
        error = "The sign-in took too long or was not started here."
        return render(request, "demo_rp/result.html", {"error": error}, status=400)
    if request.GET.get("state") != state["state"]:
        return render(request, "demo_rp/result.html", {"error": "state does not match"}, status=400)
    if "error" in request.GET:
        return render(
            request,
            "demo_rp/result.html",
            {"error": request.GET.get("error"), "description": request.GET.get("error_description")},
        )
    issuer = settings.BRIDGE_ISSUER
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{demo_client_secret()}".encode()).decode()
    status, tokens = _http_json(
        issuer + reverse("oidc:token"),
        {
            "grant_type": "authorization_code",
            "code": request.GET.get("code", ""),
            "redirect_uri": _callback_url(),
            "code_verifier": state["verifier"],
        },
        {"Authorization": f"Basic {basic}"},
    )
    if status != 200:
        return render(
            request,
            "demo_rp/result.html",
            {"error": tokens.get("error"), "description": tokens.get("error_description")},
        )
    _, jwks = _http_json(issuer + reverse("oidc:jwks"))
    id_token = jwt.JWT(
        jwt=tokens["id_token"],
        key=jwk.JWKSet.from_json(json.dumps(jwks)),
        algs=["RS256"],
        check_claims={"iss": issuer, "aud": DEMO_CLIENT_ID, "exp": None, "nonce": state["nonce"]},
    )
    _, userinfo = _http_json(
        issuer + reverse("oidc:userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    claims = json.loads(id_token.claims)
    logout = (
        issuer
        + reverse("oidc:logout")
        + "?"
        + urllib.parse.urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": issuer + reverse("demo_rp:home"),
                "client_id": DEMO_CLIENT_ID,
            }
        )
    )
    context = {
        "header": json.dumps(json.loads(id_token.header), indent=2),
        "claims": json.dumps(claims, indent=2, ensure_ascii=False),
        "userinfo": json.dumps(userinfo, indent=2, ensure_ascii=False),
        "auth_time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(claims["auth_time"])),
        "token_response_keys": sorted(tokens),
        "logout_url": logout,
    }
    response = render(request, "demo_rp/result.html", context)
    response.delete_cookie(COOKIE)
    return response


urlpatterns = [
    path("", home, name="home"),
    path("start", start, name="start"),
    path("callback", callback, name="callback"),
]
