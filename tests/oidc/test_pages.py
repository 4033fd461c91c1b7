"""The people-facing OIDC pages (Django test client): account, consent choices, error pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from accounts.legacy import reset_user_source
from audit.models import AuditEvent
from tests.oidc.test_protocol_edges import AUTHORIZE, authorize_url, callback_params, log_in

pytestmark = pytest.mark.django_db
ACCOUNT = reverse("oidc:account")


@pytest.fixture
def user(portal):
    portal.add_user("ajones", "correct horse", first_name="Alice", last_name="Jones")


def test_the_account_page_lists_recent_sign_ins_from_the_audit_trail(client, user, portal):
    portal.add_user("other", "other password")
    log_in(client, "other", "other password")
    client.logout()
    for _ in range(2):
        log_in(client)
    page = client.get(ACCOUNT, REMOTE_ADDR="127.0.0.1").content.decode()
    assert AuditEvent.objects.filter(event="login.succeeded").count() == 3
    rows = re.findall(r"<tr><td><time datetime=\"([^\"]+)\">", page)
    assert len(rows) == 2, "two sign-ins of this account, none of the other's"
    assert rows == sorted(rows, reverse=True), "newest first"
    assert "<td>127.0.0.1</td>" in page
    assert "Your name</dt><dd>Alice Jones</dd>" in page, "claims are shown with their plain names"


def test_the_globus_area_renders_nothing_without_a_link(client, user):
    log_in(client)
    page = client.get(ACCOUNT).content.decode()
    assert "Globus" not in page


def test_the_globus_area_shows_the_link_the_view_passes(rf: RequestFactory):
    link = SimpleNamespace(
        username="ajones@globusid.org",
        identity_id="0f5b2c4e-0000-4000-8000-000000000001",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    context = {"globus_link": link, "globus_manage_url": "/account/globus/"}
    html = render_to_string("oidc/account_globus.html", context, request=rf.get("/"))
    assert "Linked Globus identity" in html and "ajones@globusid.org" in html and "2026-11-01" in html
    assert '<a href="/account/globus/">Manage the link</a>' in html
    unlinked = render_to_string(
        "oidc/account_globus.html", {"globus_manage_url": "/account/globus/"}, request=rf.get("/")
    )
    assert "No Globus identity is linked" in unlinked and "Link your Globus identity" in unlinked


def test_consent_not_remembered_when_the_user_unticks_it(client, user, rp):
    log_in(client)
    page = client.get(authorize_url(rp)).content.decode()
    pending = re.search(r'name="pending" value="([^"]+)"', page)[1]
    assert 'name="remember" value="yes" id="remember" checked' in page, "remembering is the default"
    assert "You will then return to <strong>rp.example.org</strong>" in page
    assert "code" in callback_params(client.post(AUTHORIZE, {"pending": pending, "allow": "yes"}))
    again = client.get(authorize_url(rp))
    assert again.status_code == 200 and b'name="pending"' in again.content, "asked again next time"
    pending = re.search(r'name="pending" value="([^"]+)"', again.content.decode())[1]
    client.post(AUTHORIZE, {"pending": pending, "allow": "yes", "remember": "yes"})
    assert "code" in callback_params(client.get(authorize_url(rp))), "remembered: no question"


def test_an_unknown_client_is_explained_in_plain_words(client):
    response = client.get(authorize_url(SimpleNamespace(client_id="nope", redirect_uri="https://x.example/")))
    page = response.content.decode()
    assert response.status_code == 400
    assert "not registered with this sign-in service" in page
    assert "<code>invalid_request</code>" in page, "the code stays, for the application's administrators"


def test_a_wrong_redirect_uri_is_explained_and_never_followed(client, rp):
    response = client.get(authorize_url(rp, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert "an address it has not registered here" in response.content.decode()


def test_the_outage_page_offers_a_way_forward(client, portal, settings):
    settings.LEGACY_DATABASE_URL = "sqlite:////nonexistent/dir/portal.db"
    settings.BRIDGE_SUPPORT_URL = "https://help.example.edu/"
    reset_user_source()
    page = client.post(reverse("accounts:login"), {"login": "a", "password": "b"}).content.decode()
    assert "Try again" in page and 'href="https://help.example.edu/"' in page


def test_a_missing_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "This page does not exist" in response.content.decode()
