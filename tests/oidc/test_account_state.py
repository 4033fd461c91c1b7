"""Tokens of a portal account that is suspended or deleted stop working, within the state cache time."""

import pytest
from django.urls import reverse

from tests.oidc.test_flow import basic, sign_in_and_get_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def trusted_rp(make_client):
    return make_client(trusted=True)


@pytest.mark.parametrize("change", ["suspend", "delete"])
def test_suspended_or_deleted_account_loses_userinfo_refresh_introspection_and_sso(
    client, portal, trusted_rp, settings, change
):
    settings.BRIDGE_LEGACY_STATE_SECONDS = 0
    uid = portal.add_user("ajones", "correct horse")
    tokens = sign_in_and_get_tokens(client, trusted_rp)
    if change == "suspend":
        portal.update(uid, status=0)
    else:
        portal.delete(uid)

    userinfo = client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401 and "invalid_token" in userinfo["WWW-Authenticate"]
    refreshed = client.post(
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    introspection = client.post(
        reverse("oidc:introspect"),
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert introspection.json() == {"active": False}
    # single sign-on: the browser session no longer yields codes
    again = client.get(
        reverse("oidc:authorize"),
        {
            "response_type": "code",
            "client_id": trusted_rp.client_id,
            "redirect_uri": trusted_rp.redirect_uri,
            "scope": "openid",
            "prompt": "none",
            "state": "s",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert "error=login_required" in again["Location"]


def test_state_is_cached_for_the_configured_time(client, portal, trusted_rp, settings):
    settings.BRIDGE_LEGACY_STATE_SECONDS = 300
    uid = portal.add_user("ajones", "correct horse")
    tokens = sign_in_and_get_tokens(client, trusted_rp)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200  # state read and cached
    portal.update(uid, status=0)
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200  # within the bound
    from django.core.cache import cache

    from accounts.state import forget_local_copies

    cache.clear()  # the bound passes: the shared entry and this process's copy expire together
    forget_local_copies()
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 401


# --- the per-process copy of a "usable" answer (accounts.state) ------------------------------------
def test_a_usable_answer_is_kept_in_the_process_until_the_shared_entry_expires(
    client, portal, trusted_rp, settings, monkeypatch
):
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import state

    settings.BRIDGE_LEGACY_STATE_SECONDS = 60
    uid = portal.add_user("ajones", "correct horse")
    tokens = sign_in_and_get_tokens(client, trusted_rp)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200  # read and kept
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200
    assert not [q for q in captured.captured_queries if "idp_bridge_cache" in q["sql"]]

    portal.update(uid, status=0)
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200  # within the bound
    later = time.time() + 61
    monkeypatch.setattr(state.time, "time", lambda: later)
    from django.core.cache import cache

    cache.clear()  # the shared entry has expired too (the database cache reads the real clock)
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 401


def test_a_refusal_is_not_kept_in_the_process_so_a_login_lifts_it_everywhere(
    client, portal, trusted_rp, settings
):
    from accounts import state

    settings.BRIDGE_LEGACY_STATE_SECONDS = 300
    uid = portal.add_user("ajones", "correct horse")
    tokens = sign_in_and_get_tokens(client, trusted_rp)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    from accounts.models import Profile

    profile = Profile.objects.get()
    portal.update(uid, status=0)
    state.forget(profile)  # the bound passes
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 401  # the refusal is cached
    assert profile.subject_id not in state._local  # in the shared cache only
    portal.update(uid, status=1)
    state.forget(profile)  # what a successful login does, in whichever process
    assert client.get(reverse("oidc:userinfo"), **bearer).status_code == 200
