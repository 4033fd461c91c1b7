"""accounts.globus over real HTTP: globus-sdk talks to the local Globus Auth stand-in."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts import globus
from tests.globus_standin import BRIDGE_IDP, GLOBUSID_IDP

REDIRECT = "http://127.0.0.1:8000/account/globus/callback"


def _code_for(standin, identity, *, nonce="n-1", reverify=False):
    standin.auto_login = identity.id
    url = globus.authorize_url(
        redirect_uri=REDIRECT,
        state="st-1",
        nonce=nonce,
        required_domain="portal.example.edu",
        reverify=reverify,
    )
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st-1"]
    return query["code"][0], parse_qs(urlsplit(url).query)


def test_the_authorize_url_asks_globus_for_this_idp_with_the_login_scopes(globus_auth):
    identity = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    _, sent = _code_for(globus_auth, identity, reverify=True)
    assert urlsplit(globus.auth_base_url()).netloc == urlsplit(globus_auth.url).netloc
    assert sent["scope"] == ["openid profile email"]
    assert sent["session_required_single_domain"] == ["portal.example.edu"]
    assert sent["prompt"] == ["login"]
    assert sent["nonce"] == ["n-1"] and sent["response_type"] == ["code"]


def test_a_completed_login_yields_the_whole_identity_set_not_only_the_effective_identity(globus_auth):
    primary = globus_auth.add_identity("ada@globusid.org", GLOBUSID_IDP, name="Ada")
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    globus_auth.link(primary, ours)
    code, _ = _code_for(globus_auth, ours)
    login = globus.complete_login(redirect_uri=REDIRECT, code=code, nonce="n-1")
    assert login.effective_identity == primary.id
    assert [i.id for i in login.identities] == [primary.id, ours.id]
    assert login.identities[1].identity_provider == BRIDGE_IDP
    assert login.authenticated == {ours.id}
    assert not globus_auth.tokens, "the access token was revoked after use"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda c: ({**c, "aud": "another-client"}, None), "id_token_audience"),
        (lambda c: ({**c, "exp": int(time.time()) - 3600}, None), "id_token_expired"),
        (lambda c: (c, rsa.generate_private_key(public_exponent=65537, key_size=2048)), "id_token_signature"),
        (lambda c: ({**c, "iss": "https://auth.example.org"}, None), "id_token_issuer"),
        (lambda c: ({**c, "nonce": "someone-else"}, None), "nonce_mismatch"),
    ],
)
def test_an_id_token_that_is_not_for_us_is_rejected(globus_auth, tamper, reason):
    identity = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    code, _ = _code_for(globus_auth, identity)
    globus_auth.tamper_next_id_token = tamper
    with pytest.raises(globus.GlobusLoginRejected) as refused:
        globus.complete_login(redirect_uri=REDIRECT, code=code, nonce="n-1")
    assert refused.value.reason == reason


def test_a_code_is_accepted_once(globus_auth):
    identity = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    code, _ = _code_for(globus_auth, identity)
    globus.complete_login(redirect_uri=REDIRECT, code=code, nonce="n-1")
    with pytest.raises(globus.GlobusLoginRejected) as refused:
        globus.complete_login(redirect_uri=REDIRECT, code=code, nonce="n-1")
    assert refused.value.reason == "code_rejected"


def test_identities_by_username_provision_and_by_id(globus_auth):
    found = globus.get_identities(usernames=["NewUser@portal.example.edu"])
    assert found == []
    provisioned = globus.get_identities(usernames=["NewUser@portal.example.edu"], provision=True)
    assert [(i.username, i.status, i.identity_provider) for i in provisioned] == [
        ("newuser@portal.example.edu", "unused", BRIDGE_IDP)
    ]
    assert globus.get_identities(ids=[provisioned[0].id]) == provisioned


def test_identity_providers_by_domain_and_by_id(globus_auth):
    (provider,) = globus.get_identity_providers(domains=["portal.example.edu"])
    assert provider.id == BRIDGE_IDP and provider.domains == ("portal.example.edu",)
    assert globus.get_identity_providers(ids=[GLOBUSID_IDP])[0].short_name == "globusid"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_globus_answering_5xx_is_unavailable_not_a_refusal(globus_auth, status):
    globus_auth.fail(status)
    with pytest.raises(globus.GlobusUnavailable):
        globus.get_identities(usernames=["a@portal.example.edu"])


def test_globus_unreachable_is_unavailable(globus_auth):
    globus_auth.stop()
    with pytest.raises(globus.GlobusUnavailable):
        globus.get_identity_providers(domains=["portal.example.edu"])


def test_without_credentials_linking_is_off(settings):
    settings.BRIDGE_GLOBUS_CLIENT_ID = ""
    settings.BRIDGE_GLOBUS_CLIENT_SECRET = ""
    assert not globus.is_configured()
    with pytest.raises(globus.GlobusNotConfigured):
        globus.get_identities(ids=["46bd0f56-e24f-11e5-a510-131bef46955c"])


def test_the_stand_in_answers_userinfo_for_the_accounts_effective_identity(globus_auth):
    import globus_sdk

    primary = globus_auth.add_identity("ada@globusid.org", GLOBUSID_IDP, name="Ada")
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    globus_auth.link(primary, ours)
    code, _ = _code_for(globus_auth, ours)
    client = globus.login_client()
    client.oauth2_start_flow(REDIRECT, requested_scopes="openid profile email")
    tokens = client.oauth2_exchange_code_for_tokens(code)
    assert tokens["resource_server"] == "auth.globus.org" and tokens["other_tokens"] == []
    auth = globus_sdk.AuthClient(authorizer=globus_sdk.AccessTokenAuthorizer(tokens["access_token"]))
    assert auth.userinfo()["sub"] == primary.id
    client.oauth2_revoke_token(tokens["access_token"])
    with pytest.raises(globus_sdk.AuthAPIError):
        auth.userinfo()


def test_only_accounts_globus_imports_globus_sdk():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    importers = {
        str(path.relative_to(root))
        for package in ("accounts", "oidc", "audit", "idp_bridge")
        for path in (root / package).rglob("*.py")
        if "import globus_sdk" in path.read_text() or "from globus_sdk" in path.read_text()
    }
    assert importers == {"accounts/globus.py"}
