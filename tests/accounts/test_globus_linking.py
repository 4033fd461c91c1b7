"""Self-service Globus linking through Django's test client; Globus is the local stand-in over real HTTP.

The user's Globus login is played by the stand-in's ``auto_login`` (the identity they sign in with);
the whole chain through the bridge as Globus's upstream IdP is in tests/e2e/test_globus_chain.py.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse

from accounts.models import GlobusIdentityLink, Subject
from audit.models import AuditEvent
from tests.globus_standin import BRIDGE_IDP, ELSEWHERE_IDP, GLOBUSID_IDP

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse"
LINK_PAGE = reverse("accounts:globus-link")


@pytest.fixture
def signed_in(client, portal):
    """Alice (portal username ajones) with a portal session in the test client."""
    portal.add_user("ajones", PASSWORD, first_name="Alice", last_name="Jones")
    response = client.post(reverse("accounts:login"), {"login": "ajones", "password": PASSWORD})
    assert response.status_code == 303
    return client


def start(client, *, reverify: bool = False) -> str:
    response = client.post(reverse("accounts:globus-start"), {"reverify": "1"} if reverify else {})
    assert response.status_code == 303, response.content
    return response["Location"]


def globus_login(standin, authorize_url: str, identity) -> str:
    """The user signs in at Globus with ``identity``; returns the callback URL Globus sends them to."""
    standin.auto_login = identity.id
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def callback(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def link_with(client, standin, identity):
    return callback(client, globus_login(standin, start(client), identity))


def refusals():
    return list(AuditEvent.objects.filter(event="globus.link_refused").values_list("reason", flat=True))


def test_the_account_page_has_no_globus_area_when_linking_is_off(signed_in, settings):
    settings.BRIDGE_GLOBUS_CLIENT_ID = ""
    account = signed_in.get(reverse("oidc:account"))
    assert account.status_code == 200 and LINK_PAGE.encode() not in account.content


def test_the_account_page_offers_the_link_page(signed_in, globus_auth):
    account = signed_in.get(reverse("oidc:account"))
    assert LINK_PAGE.encode() in account.content
    page = signed_in.get(LINK_PAGE)
    assert page.status_code == 200
    assert b"ajones@portal.example.edu" in page.content and b"Link your Globus identity" in page.content


def test_linking_scans_the_identity_set_and_links_the_identity_from_this_idp(signed_in, globus_auth):
    primary = globus_auth.add_identity("alice@elsewhere.edu", ELSEWHERE_IDP)
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    globus_auth.link(primary, ours)
    response = link_with(signed_in, globus_auth, ours)
    assert response.status_code == 303 and response["Location"] == LINK_PAGE
    link = GlobusIdentityLink.objects.get()
    assert str(link.identity_id) == ours.id and link.subject.profile.legacy_username == "ajones"
    page = signed_in.get(LINK_PAGE)
    assert b"is now linked" in page.content and ours.id.encode() in page.content
    account = signed_in.get(reverse("oidc:account"))
    assert ours.id.encode() in account.content and b"ajones@portal.example.edu" in account.content


def test_a_french_browser_sees_the_link_and_its_outcome_in_french(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    signed_in.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    link_with(signed_in, globus_auth, ours)
    page = signed_in.get(LINK_PAGE).content.decode()
    assert "Votre identité Globus ajones@portal.example.edu est maintenant liée." in page
    account = signed_in.get(reverse("oidc:account")).content.decode()
    assert "Identité Globus liée" in account and "Nom d’utilisateur Globus" in account
    assert ours.id in account and "Gérer le lien" in account


def test_an_account_without_an_identity_from_this_idp_is_explained_and_retry_is_offered(
    signed_in, globus_auth
):
    elsewhere = globus_auth.add_identity("alice@globusid.org", GLOBUSID_IDP)
    response = link_with(signed_in, globus_auth, elsewhere)
    assert response.status_code == 200
    text = response.content.decode()
    assert "has no identity from Research Portal" in text and "@portal.example.edu" in text
    assert 'name="reverify" value="1"' in text
    assert not GlobusIdentityLink.objects.exists()
    assert refusals() == ["no_identity_from_idp"]
    # The retry asks Globus for a fresh login that must include this IdP's domain.
    retry = start(signed_in, reverify=True)
    assert "prompt=login" in retry and "session_required_single_domain=portal.example.edu" in retry


def test_another_portal_users_identity_is_refused(signed_in, globus_auth):
    bob = globus_auth.add_identity("bob@portal.example.edu", BRIDGE_IDP)
    response = link_with(signed_in, globus_auth, bob)
    assert b"You signed in to Globus as bob@portal.example.edu" in response.content
    assert not GlobusIdentityLink.objects.exists() and refusals() == ["username_mismatch"]


def test_an_identity_from_another_provider_with_our_username_is_never_effective(signed_in, globus_auth):
    impostor = globus_auth.add_identity("ajones@portal.example.edu", ELSEWHERE_IDP)
    response = link_with(signed_in, globus_auth, impostor)
    assert b"has no identity from Research Portal" in response.content
    assert not GlobusIdentityLink.objects.exists()


def test_a_closed_identity_is_not_linked(signed_in, globus_auth):
    closed = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP, status="closed")
    response = link_with(signed_in, globus_auth, closed)
    assert b"as closed" in response.content
    assert not GlobusIdentityLink.objects.exists() and refusals() == ["identity_closed"]


def test_an_identity_in_the_set_but_not_signed_in_with_is_not_proven(signed_in, globus_auth):
    primary = globus_auth.add_identity("alice@globusid.org", GLOBUSID_IDP)
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    globus_auth.link(primary, ours)
    response = link_with(signed_in, globus_auth, primary)
    assert b"you did not sign in with it this time" in response.content
    assert not GlobusIdentityLink.objects.exists() and refusals() == ["not_authenticated"]


def test_a_reused_username_links_by_identity_id_and_leaves_the_old_link_alone(signed_in, globus_auth):
    # The portal deleted an earlier "ajones"; Globus gave the username to a new identity.
    old_subject = Subject.objects.create(legacy_id="old-ajones")
    old_identity = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP, status="closed")
    GlobusIdentityLink.objects.create(
        subject=old_subject,
        identity_id=old_identity.id,
        username=old_identity.username,
        identity_provider=BRIDGE_IDP,
        method="import",
        proof="admin_assertion",
    )
    new_identity = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    response = link_with(signed_in, globus_auth, new_identity)
    assert response.status_code == 303
    mine = GlobusIdentityLink.objects.exclude(subject=old_subject).get()
    assert str(mine.identity_id) == new_identity.id
    assert str(GlobusIdentityLink.objects.get(subject=old_subject).identity_id) == old_identity.id


def test_an_identity_linked_to_another_account_is_refused(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    other = Subject.objects.create(legacy_id="someone-else")
    GlobusIdentityLink.objects.create(
        subject=other,
        identity_id=ours.id,
        username=ours.username,
        identity_provider=BRIDGE_IDP,
        method="admin",
        proof="admin_assertion",
    )
    response = link_with(signed_in, globus_auth, ours)
    assert b"already linked to another portal account" in response.content
    assert GlobusIdentityLink.objects.get().subject == other and refusals() == ["linked_to_another_account"]


def test_verify_again_then_unlink(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    link_with(signed_in, globus_auth, ours)
    first = GlobusIdentityLink.objects.get().verified_at
    again = callback(signed_in, globus_login(globus_auth, start(signed_in, reverify=True), ours))
    assert again.status_code == 303
    assert GlobusIdentityLink.objects.get().verified_at > first
    link = GlobusIdentityLink.objects.get()
    response = signed_in.post(reverse("accounts:globus-unlink", args=[link.pk]))
    assert response.status_code == 303 and not GlobusIdentityLink.objects.exists()
    unlinked = AuditEvent.objects.get(event="globus.unlink")
    assert unlinked.details["identity_id"] == ours.id and unlinked.legacy_id


def test_someone_elses_link_cannot_be_unlinked(signed_in, globus_auth):
    other = Subject.objects.create(legacy_id="someone-else")
    link = GlobusIdentityLink.objects.create(
        subject=other,
        identity_id="46bd0f56-e24f-11e5-a510-131bef46955c",
        username="x@portal.example.edu",
        identity_provider=BRIDGE_IDP,
        method="admin",
        proof="admin_assertion",
    )
    assert signed_in.post(reverse("accounts:globus-unlink", args=[link.pk])).status_code == 404
    assert GlobusIdentityLink.objects.filter(pk=link.pk).exists()


# --- bad input ---------------------------------------------------------------------------------------
def assert_refused(response, reason: str, status: int = 400):
    assert response.status_code == status, response.content
    assert b"Nothing was" in response.content
    assert not GlobusIdentityLink.objects.exists()
    assert refusals()[-1] == reason


def test_a_callback_with_a_forged_state_is_refused(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    assert_refused(callback(signed_in, url.replace("state=", "state=forged")), "bad_state")


def test_a_replayed_callback_is_refused(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    assert callback(signed_in, url).status_code == 303
    GlobusIdentityLink.objects.all().delete()
    assert_refused(callback(signed_in, url), "no_flow")


def test_a_code_reused_in_a_new_flow_is_refused_by_globus(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    used = globus_login(globus_auth, start(signed_in), ours)
    assert callback(signed_in, used).status_code == 303
    GlobusIdentityLink.objects.all().delete()
    fresh = globus_login(globus_auth, start(signed_in), ours)
    code = urlsplit(used).query.split("code=")[1].split("&")[0]
    fresh_code = urlsplit(fresh).query.split("code=")[1].split("&")[0]
    assert_refused(callback(signed_in, fresh.replace(fresh_code, code)), "code_rejected")


def test_a_callback_in_a_browser_that_did_not_start_it_is_refused(signed_in, globus_auth):
    from django.test import Client

    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    attacker = Client()
    attacker.post(reverse("accounts:login"), {"login": "ajones", "password": PASSWORD})
    assert_refused(callback(attacker, url), "no_flow")


def test_a_flow_that_took_too_long_is_refused(signed_in, globus_auth, monkeypatch):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    real_time = time.time
    monkeypatch.setattr("accounts.globus_views.time.time", lambda: real_time() + 3600)
    assert_refused(callback(signed_in, url), "flow_expired")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda c: ({**c, "aud": "another-globus-app"}, None), "id_token_audience"),
        (lambda c: (c, rsa.generate_private_key(public_exponent=65537, key_size=2048)), "id_token_signature"),
        (
            lambda c: ({**c, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, None),
            "id_token_expired",
        ),
    ],
    ids=["another-audience", "wrong-signature", "expired"],
)
def test_an_id_token_that_does_not_verify_is_refused(signed_in, globus_auth, tamper, reason):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    globus_auth.tamper_next_id_token = tamper
    assert_refused(callback(signed_in, url), reason)


def test_globus_cancelled_login_is_explained(signed_in, globus_auth):
    start(signed_in)
    state = signed_in.session["bridge_globus_link_flow"]["state"]
    response = signed_in.get(reverse("accounts:globus-callback"), {"state": state, "error": "access_denied"})
    assert_refused(response, "globus_error")
    assert b"cancelled" in response.content


@pytest.mark.parametrize("path", ["/v2/oauth2/token", "/v2/oauth2/token/introspect", "/jwk.json"])
def test_globus_answering_5xx_mid_flow_changes_nothing(signed_in, globus_auth, path):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    globus_auth.fail(503, (path,))
    response = callback(signed_in, url)
    assert_refused(response, "globus_unavailable", status=503)
    assert b"Globus is not answering" in response.content and response["Retry-After"]


def test_globus_unreachable_changes_nothing(signed_in, globus_auth):
    ours = globus_auth.add_identity("ajones@portal.example.edu", BRIDGE_IDP)
    url = globus_login(globus_auth, start(signed_in), ours)
    globus_auth.stop()
    assert_refused(callback(signed_in, url), "globus_unavailable", status=503)


def test_linking_needs_a_portal_session_and_a_post(client, globus_auth):
    assert client.get(LINK_PAGE)["Location"].startswith(reverse("accounts:login"))
    assert client.get(reverse("accounts:globus-start")).status_code == 405
    assert client.post(reverse("accounts:globus-start"))["Location"].startswith(reverse("accounts:login"))


def test_start_is_csrf_protected(portal, globus_auth):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    portal.add_user("ajones", PASSWORD)
    login_page = browser.get(reverse("accounts:login"))
    token = login_page.cookies["csrftoken"].value
    browser.post(
        reverse("accounts:login"), {"login": "ajones", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert browser.post(reverse("accounts:globus-start")).status_code == 403


def test_without_globus_credentials_the_page_says_linking_is_unavailable(signed_in, settings):
    settings.BRIDGE_GLOBUS_CLIENT_ID = settings.BRIDGE_GLOBUS_CLIENT_SECRET = ""
    assert b"not available here" in signed_in.get(LINK_PAGE).content
    assert signed_in.post(reverse("accounts:globus-start")).status_code == 503
