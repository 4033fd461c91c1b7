"""Protocol edges found in review: each test is a way a relying party or a user could be misled."""

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse

from accounts import authentication
from tests.conftest import TEST_RP_SECRET
from tests.oidc.test_flow import basic, sign_in_and_get_tokens

pytestmark = pytest.mark.django_db
AUTHORIZE = reverse("oidc:authorize")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"="
    ).decode()


def authorize_url(rp, **extra) -> str:
    _verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return AUTHORIZE + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def log_in(client, login="ajones", password="correct horse"):
    response = client.post(reverse("accounts:login"), {"login": login, "password": password})
    assert response.status_code == 303


def callback_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.fixture
def user(portal):
    portal.add_user("ajones", "correct horse")


@pytest.fixture
def trusted(make_client):
    return make_client(trusted=True)


@pytest.mark.parametrize("demand", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "select_account"}])
def test_reauthentication_cannot_be_skipped_by_opening_the_return_url(client, user, trusted, demand):
    log_in(client)
    to_login = client.get(authorize_url(trusted, **demand))
    next_url = parse_qs(urlsplit(to_login["Location"]).query)["next"][0]
    skipped = client.get(next_url)  # the user opens the way back without logging in again
    assert skipped.status_code == 302 and skipped["Location"].startswith(reverse("accounts:login"))
    # ... and after a real login the same way back completes
    client.post(reverse("accounts:login"), {"login": "ajones", "password": "correct horse", "next": next_url})
    assert "code" in callback_params(client.get(next_url))


def test_a_reauthentication_marker_cannot_be_moved_to_another_request(client, user, trusted):
    log_in(client)
    first = client.get(authorize_url(trusted, prompt="login", state="one"))
    marker = parse_qs(urlsplit(parse_qs(urlsplit(first["Location"]).query)["next"][0]).query)[
        "bridge_reauth"
    ][0]
    log_in(client)
    other = client.get(authorize_url(trusted, prompt="login", state="two", bridge_reauth=marker))
    assert other["Location"].startswith(reverse("accounts:login"))


def test_consent_form_carries_only_an_id_so_nothing_can_be_tampered_with(client, user, rp):
    log_in(client)
    page = client.get(authorize_url(rp)).content.decode()
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    assert set(fields) == {"csrfmiddlewaretoken", "pending", "remember", "allow", "deny"}
    tampered = client.post(
        AUTHORIZE,
        {
            "pending": fields["pending"],
            "allow": "yes",
            "redirect_uri": "https://evil.example/",
            "scope": "openid profile email",
        },
    )
    params = callback_params(tampered)
    assert tampered["Location"].startswith(rp.redirect_uri) and "code" in params
    replay = client.post(AUTHORIZE, {"pending": fields["pending"], "allow": "yes"})
    assert replay.status_code == 400  # a consent is used once


def test_denying_consent_tells_the_client_access_denied(client, user, rp):
    log_in(client)
    pending = re.search(r'name="pending" value="([^"]+)"', client.get(authorize_url(rp)).content.decode())[1]
    params = callback_params(client.post(AUTHORIZE, {"pending": pending, "deny": "yes"}))
    assert params["error"] == "access_denied" and params["state"] == "st"


def test_an_unknown_consent_id_is_an_error_page(client, user, rp):
    log_in(client)
    assert client.post(AUTHORIZE, {"pending": "forged", "allow": "yes"}).status_code == 400


def test_an_essential_acr_that_cannot_be_met_is_access_denied(client, user, trusted):
    log_in(client)
    claims = json.dumps(
        {"id_token": {"acr": {"essential": True, "values": ["urn:mace:incommon:iap:silver"]}}}
    )
    assert callback_params(client.get(authorize_url(trusted, claims=claims)))["error"] == "access_denied"
    ours = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:idp-bridge:acr:password"]}}})
    assert "code" in callback_params(client.get(authorize_url(trusted, claims=ours)))


@pytest.mark.parametrize("challenge", ["short", "x" * 44, "a" * 42 + "=", "a" * 42 + "+"])
def test_malformed_pkce_challenge_is_invalid_request(client, user, trusted, challenge):
    log_in(client)
    params = callback_params(client.get(authorize_url(trusted, code_challenge=challenge)))
    assert params["error"] == "invalid_request"


def test_unsupported_response_type_is_named(client, user, trusted):
    params = callback_params(client.get(authorize_url(trusted, response_type="code id_token")))
    assert params["error"] == "unsupported_response_type"


def test_token_endpoint_requires_redirect_uri_and_a_well_formed_verifier(client, user, trusted):
    log_in(client)
    verifier, challenge = pkce()
    code = callback_params(client.get(authorize_url(trusted, code_challenge=challenge)))["code"]
    token = reverse("oidc:token")
    missing = client.post(
        token,
        {"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        HTTP_AUTHORIZATION=basic(trusted.client_id),
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    malformed = client.post(
        token,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": "abc",
            "redirect_uri": trusted.redirect_uri,
        },
        HTTP_AUTHORIZATION=basic(trusted.client_id),
    )
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"
    assert missing["Pragma"] == "no-cache" and missing["Cache-Control"] == "no-store"


def test_basic_scheme_name_is_case_insensitive(client, user, trusted):
    tokens = sign_in_and_get_tokens(client, trusted)
    lower = "basic " + base64.b64encode(f"{trusted.client_id}:{TEST_RP_SECRET}".encode()).decode()
    response = client.post(
        reverse("oidc:introspect"), {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=lower
    )
    assert response.status_code == 200 and response.json()["active"] is True


def test_userinfo_errors_follow_rfc_6750(client, user, trusted):
    userinfo = reverse("oidc:userinfo")
    bare = client.get(userinfo)
    assert bare.status_code == 401 and bare["WWW-Authenticate"] == 'Bearer realm="idp-bridge"'
    bad = client.get(userinfo, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.status_code == 401 and bad["Content-Type"] == "application/json"
    assert bad.json()["error"] == "invalid_token" and 'error="invalid_token"' in bad["WWW-Authenticate"]
    # A live token that was narrowed to scopes without openid: 403 insufficient_scope.
    tokens = sign_in_and_get_tokens(client, trusted, scope="openid profile")
    narrowed = client.post(
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "profile"},
        HTTP_AUTHORIZATION=basic(trusted.client_id),
    )
    assert narrowed.status_code == 200, narrowed.content
    forbidden = client.get(userinfo, HTTP_AUTHORIZATION=f"Bearer {narrowed.json()['access_token']}")
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "insufficient_scope"


def test_introspection_releases_identity_only_as_far_as_the_grant_did(client, user, trusted):
    narrow = sign_in_and_get_tokens(client, trusted, scope="openid")
    info = client.post(
        reverse("oidc:introspect"),
        {"token": narrow["access_token"]},
        HTTP_AUTHORIZATION=basic(trusted.client_id),
    ).json()
    assert info["active"] and "sub" in info and "username" not in info
    refresh_info = client.post(
        reverse("oidc:introspect"),
        {"token": narrow["refresh_token"]},
        HTTP_AUTHORIZATION=basic(trusted.client_id),
    ).json()
    assert refresh_info["active"] and "token_type" not in refresh_info


def test_logout_hint_is_verified_with_the_keys_not_a_stored_row(client, user, trusted):
    from oidc.models import IDToken

    tokens = sign_in_and_get_tokens(client, trusted)
    IDToken.objects.all().delete()  # token cleanup must not break logout hints
    response = client.get(
        reverse("oidc:logout"),
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": trusted.post_logout_redirect_uri,
            "state": "bye",
        },
    )
    assert (
        response.status_code == 302
        and response["Location"] == trusted.post_logout_redirect_uri + "?state=bye"
    )
    assert "_auth_user_id" not in client.session


def test_unknown_users_cost_what_the_portals_real_hashes_cost(client, portal, monkeypatch):
    authentication._TimingCalibration.forget()
    portal.add_user("ajones", "correct horse")  # bcrypt at the test factory's cost
    authentication.check_legacy_credentials("ajones", "wrong")
    calls = []
    monkeypatch.setattr(authentication, "verify_password", lambda pw, stored, **kw: calls.append(stored))
    authentication.check_legacy_credentials("nobody", "whatever")
    assert calls == [authentication._TimingCalibration.costliest()[0]] and calls[0].startswith("$2y$04$")
