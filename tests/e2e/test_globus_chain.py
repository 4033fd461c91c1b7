"""The whole linking chain over real HTTP: portal → Globus Auth (stand-in) → the bridge as Globus's
upstream IdP (legacy password) → Globus → the bridge's callback → link.

The stand-in federates this very bridge exactly as Globus does (a confidential OIDC client whose
redirect URI is Globus's callback path on its own host), and globus-sdk reaches the stand-in
through GLOBUS_SDK_SERVICE_URL_AUTH.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from accounts import globus
from accounts.models import GlobusIdentityLink
from audit.models import AuditEvent
from tests.e2e.support import PASSWORD, Browser, Page
from tests.globus_standin import BRIDGE_IDP, GLOBUSID_IDP

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class WebBrowser(Browser):
    """Follows redirects between the bridge and Globus, as a real browser does."""

    def __init__(self, bridge_url: str, globus_url: str) -> None:
        super().__init__(bridge_url)
        self.globus_netloc = urlsplit(globus_url).netloc

    def at_bridge(self, url: str) -> bool:
        return super().at_bridge(url) or urlsplit(url).netloc == self.globus_netloc


def submit_button(browser: Browser, page: Page, action: str) -> Page:
    form = page.form(action)
    result = browser.submit(page, form, form.fields())
    assert isinstance(result, Page), result
    return result


def test_a_portal_user_links_the_identity_from_this_idp_not_the_accounts_primary(globus_chain, alice):
    # At Globus, Alice's account has a primary identity from Globus ID and, linked to it, the
    # identity Globus provisioned for her portal username (not yet used).
    primary = globus_chain.add_identity("alice@globusid.org", GLOBUSID_IDP, name="Alice S")
    (provisioned,) = globus.get_identities(usernames=["alice.smith@portal.example.edu"], provision=True)
    assert provisioned.status == "unused"
    globus_chain.link(primary, globus_chain.identities[provisioned.id])

    browser = WebBrowser(globus_chain.upstream.issuer, globus_chain.url)
    account = browser.login(alice.login)
    assert isinstance(account, Page) and "Link your Globus identity" in account.text
    link_page = browser.open("/account/globus/")
    assert isinstance(link_page, Page) and link_page.status == 200

    # Link: to Globus, which sends her to the bridge; her bridge session signs her in there.
    linked = submit_button(browser, link_page, "/account/globus/start")
    assert linked.status == 200 and "is now linked" in linked.text, linked
    link = GlobusIdentityLink.objects.get()
    assert str(link.identity_id) == provisioned.id != primary.id
    assert link.subject.profile.legacy_username == alice.login
    assert (link.username, str(link.identity_provider)) == ("alice.smith@portal.example.edu", BRIDGE_IDP)
    assert (link.method, link.proof, link.effective) == ("self_service", "globus_login", True)
    authorize = [params for method, path, params in globus_chain.seen if path == "/v2/oauth2/authorize"]
    assert authorize[0]["session_required_single_domain"] == ["portal.example.edu"]
    assert authorize[0]["scope"] == ["openid profile email"]

    # Verify again: prompt=login makes Globus ask the bridge for a fresh login with her password.
    step = browser.submit(
        linked, linked.form("/account/globus/start"), linked.form("/account/globus/start").fields()
    )
    assert isinstance(step, Page) and step.kind == "login", step
    verified = browser.submit_login(step, alice.login, PASSWORD)
    assert isinstance(verified, Page) and "verified again" in verified.text, verified
    assert GlobusIdentityLink.objects.get().verified_at > link.verified_at

    events = list(AuditEvent.objects.filter(event="globus.link").order_by("id"))
    assert [e.reason for e in events] == ["self_service", "reverified"]
    assert events[0].details["identity_id"] == provisioned.id
    assert not any("token" in str(e.details).lower() for e in AuditEvent.objects.all())
    assert not globus_chain.tokens, "every Globus token the bridge received was revoked"
