"""The whole code flow through Django's test client, on each legacy database, and during an outage.

(Real HTTP with a third-party relying-party library is in tests/e2e; this suite checks the same
path cheaply on SQLite and PostgreSQL legacy databases and proves an outage spares issued tokens.)
"""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse

from accounts.legacy import reset_user_source
from tests.conftest import TEST_RP_SECRET

pytestmark = pytest.mark.django_db


def basic(client_id: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{TEST_RP_SECRET}".encode()).decode()


def sign_in_and_get_tokens(
    client, rp, login="ajones", password="correct horse", scope="openid profile email"
):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": scope,
        "state": "st",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorize = reverse("oidc:authorize") + "?" + urlencode(params)
    to_login = client.get(authorize)
    assert to_login.status_code == 302 and to_login["Location"].startswith(reverse("accounts:login"))
    logged_in = client.post(
        reverse("accounts:login"), {"login": login, "password": password, "next": authorize}
    )
    assert logged_in.status_code == 303, logged_in.content
    redirect = client.get(logged_in["Location"])
    assert redirect.status_code == 302 and redirect["Location"].startswith(rp.redirect_uri)
    query = parse_qs(urlsplit(redirect["Location"]).query)
    assert query["state"] == ["st"] and query["iss"] == ["http://127.0.0.1:8000"]
    tokens = client.post(
        reverse("oidc:token"),
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic(rp.client_id),
    )
    assert tokens.status_code == 200, tokens.content
    return tokens.json()


@pytest.fixture
def trusted_rp(make_client):
    return make_client(trusted=True)


def test_code_flow_on_each_legacy_database(client, any_portal, trusted_rp):
    any_portal.add_user("ajones", "correct horse", first_name="Alice", last_name="Jones")
    tokens = sign_in_and_get_tokens(client, trusted_rp)
    userinfo = client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 200
    assert userinfo.json()["preferred_username"] == "ajones@portal.example.edu"
    assert userinfo.json()["name"] == "Alice Jones"


def test_legacy_outage_spares_discovery_jwks_and_tokens_already_issued(client, portal, trusted_rp, settings):
    portal.add_user("ajones", "correct horse")
    tokens = sign_in_and_get_tokens(client, trusted_rp)

    settings.LEGACY_DATABASE_URL = "postgresql://reader@127.0.0.1:1/portal"  # the portal database goes away
    reset_user_source()

    assert client.get(reverse("oidc:discovery")).status_code == 200
    assert client.get(reverse("oidc:jwks")).status_code == 200
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert (
        client.get(reverse("oidc:userinfo"), **bearer).json()["preferred_username"]
        == "ajones@portal.example.edu"
    )
    introspection = client.post(
        reverse("oidc:introspect"),
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert introspection.json()["active"] is True
    refreshed = client.post(
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert refreshed.status_code == 200 and "id_token" in refreshed.json()

    # ... while a new login is told plainly to wait, not that the password is wrong.
    client.logout()
    login = client.post(reverse("accounts:login"), {"login": "ajones", "password": "correct horse"})
    assert login.status_code == 503
