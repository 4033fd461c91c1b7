"""The token path's query budget and caches (issue 7), held to the behaviour they must keep.

Counts are per table, not totals: the account-state cache's backend (and so its queries) belongs to
operations. What is pinned is that each endpoint reads its token once, with everything the claims
need, and that nothing is read twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oidc import keys
from oidc.models import AccessToken, Grant, RefreshToken, SigningKey
from oidc.prepared import PreparedQuery
from oidc.validators import ACCESS_TOKEN_BY_CHECKSUM, LOCKED_REFRESH_TOKENS, USER_CLAIMS_PATH, checksum
from tests.oidc.test_flow import basic, sign_in_and_get_tokens

pytestmark = pytest.mark.django_db

TABLES = (
    "oidc_accesstoken",
    "oidc_refreshtoken",
    "oidc_grant",
    "oidc_idtoken",
    "oidc_application",
    "oidc_signingkey",
    "accounts_profile",
    "accounts_subject",
    "accounts_usernameoverride",
    "auth_user",
)


def reads(captured: CaptureQueriesContext) -> Counter[str]:
    """SELECTs per table (by the table in FROM)."""
    counts: Counter[str] = Counter()
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        main = sql.split(" FROM ", 1)[1].split()[0].strip('"`') if " FROM " in sql else ""
        counts[main] += 1
    return counts


@pytest.fixture
def trusted_rp(make_client):
    return make_client(trusted=True)


@pytest.fixture
def tokens(client, portal, trusted_rp):
    portal.add_user("ajones", "correct horse", first_name="Alice", last_name="Jones", email="aj@example.org")
    return sign_in_and_get_tokens(client, trusted_rp)


# --- one indexed lookup per userinfo and introspection -----------------------------------------------
def test_userinfo_reads_the_token_once_with_everything_the_claims_need(client, tokens):
    keys.key_snapshot()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    assert response.json()["preferred_username"] == "ajones@portal.example.edu"
    counts = reads(captured)
    assert counts["oidc_accesstoken"] == 1
    for table in ("accounts_profile", "accounts_subject", "accounts_usernameoverride", "auth_user"):
        assert counts[table] == 0, (table, captured.captured_queries)
    # the account state checked when the tokens were issued is kept in this process (accounts.state)
    assert len(captured.captured_queries) == 1, captured.captured_queries


def test_introspection_reads_the_client_and_the_token_once_each(client, tokens, trusted_rp):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            reverse("oidc:introspect"),
            {"token": tokens["access_token"]},
            HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
        )
    assert response.json()["active"] is True
    assert response.json()["username"] == "ajones@portal.example.edu"
    counts = reads(captured)
    assert counts["oidc_application"] == 1 and counts["oidc_accesstoken"] == 1
    for table in ("accounts_profile", "accounts_subject", "accounts_usernameoverride", "auth_user"):
        assert counts[table] == 0, (table, captured.captured_queries)


def test_refresh_token_introspection_joins_the_user_too(client, tokens, trusted_rp):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            reverse("oidc:introspect"),
            {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
            HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
        )
    assert response.json()["active"] is True and response.json()["sub"]
    counts = reads(captured)
    assert counts["oidc_refreshtoken"] == 1
    for table in ("accounts_profile", "accounts_subject", "auth_user", "oidc_accesstoken"):
        assert counts[table] == 0, (table, captured.captured_queries)


# --- the code exchange reads its grant once ----------------------------------------------------------
def authorization_code(client, rp, **extra: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "state": "st",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    redirect = client.get(reverse("oidc:authorize") + "?" + urlencode(params))
    assert redirect.status_code == 302 and redirect["Location"].startswith(rp.redirect_uri), redirect
    return parse_qs(urlsplit(redirect["Location"]).query)["code"][0], verifier


def exchange(client, rp, code: str, verifier: str, **extra: str):
    return client.post(
        reverse("oidc:token"),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
            **extra,
        },
        HTTP_AUTHORIZATION=basic(rp.client_id),
    )


def test_code_exchange_reads_the_grant_once_and_the_id_token_never(client, tokens, trusted_rp):
    code, verifier = authorization_code(client, trusted_rp)
    keys.key_snapshot()
    with CaptureQueriesContext(connection) as captured:
        response = exchange(client, trusted_rp, code, verifier)
    assert response.status_code == 200, response.content
    counts = reads(captured)
    # oauthlib asks for the scopes before the client is authenticated (a read of the scope), then
    # validate_code locks and reads the row; PKCE, redirect URI, nonce and resources reuse it.
    assert counts["oidc_grant"] == 2, captured.captured_queries
    assert counts["oidc_idtoken"] == 0  # the ID token just signed is not verified and looked up again
    assert counts["accounts_usernameoverride"] == 0 and counts["accounts_subject"] == 0
    assert not Grant.objects.filter(code=code).exists()


def test_code_exchange_checks_still_hold_on_the_grant_read_once(client, tokens, trusted_rp):
    code, verifier = authorization_code(client, trusted_rp)
    wrong = exchange(client, trusted_rp, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"  # PKCE
    code, verifier = authorization_code(client, trusted_rp)
    moved = client.post(
        reverse("oidc:token"),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": trusted_rp.redirect_uri + "x",
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_grant"  # redirect URI
    code, verifier = authorization_code(client, trusted_rp)
    good = exchange(client, trusted_rp, code, verifier)
    claims = keys.verify_own_jwt(good.json()["id_token"])
    assert claims["nonce"] == "nonce-1"
    assert AccessToken.objects.get(token_checksum=checksum(good.json()["access_token"])).id_token is not None


def test_resources_of_the_grant_are_inherited_and_cannot_be_widened(client, tokens, trusted_rp):
    code, verifier = authorization_code(client, trusted_rp)
    Grant.objects.filter(code=code).update(resource=["https://api.example.org/"])
    widened = exchange(client, trusted_rp, code, verifier, resource="https://other.example.org/")
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"

    code, verifier = authorization_code(client, trusted_rp)
    Grant.objects.filter(code=code).update(resource=["https://api.example.org/"])
    inherited = exchange(client, trusted_rp, code, verifier)
    assert inherited.status_code == 200, inherited.content
    token = AccessToken.objects.get(token_checksum=checksum(inherited.json()["access_token"]))
    assert token.resource == ["https://api.example.org/"]


# --- refresh ------------------------------------------------------------------------------------------
def test_refresh_reads_neither_the_id_token_nor_the_claims_tables_again(client, tokens, trusted_rp):
    keys.key_snapshot()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            reverse("oidc:token"),
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
        )
    assert response.status_code == 200, response.content
    counts = reads(captured)
    assert counts["oidc_idtoken"] == 0
    for table in ("accounts_profile", "accounts_subject", "accounts_usernameoverride", "auth_user"):
        assert counts[table] == 0, (table, captured.captured_queries)
    # the client once (authentication); the token's client, access token and user come joined to
    # the locked refresh token, which the rotation reuses (stock DOT reads it twice more)
    assert counts["oidc_application"] == 1, captured.captured_queries
    assert counts["oidc_refreshtoken"] == 1, captured.captured_queries
    assert counts["oidc_accesstoken"] == 1, captured.captured_queries  # none minted from it yet?
    assert not [q for q in captured.captured_queries if "idp_bridge_cache" in q["sql"]]
    assert keys.verify_own_jwt(response.json()["id_token"])["sub"]


def refresh(client, rp_client_id: str, refresh_token: str):
    return client.post(
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic(rp_client_id),
    )


def test_a_live_refresh_token_is_refused_to_another_client(client, tokens, make_client):
    other = make_client("other-rp", trusted=True)
    refused = refresh(client, other.client_id, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_refresh_token_whose_access_token_was_deleted_out_of_band_is_refused(client, tokens, trusted_rp):
    AccessToken.objects.all().delete()
    refused = refresh(client, trusted_rp.client_id, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_refresh_token_past_its_lifetime_after_its_access_token_is_refused(
    client, tokens, trusted_rp, settings
):
    lifetime = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=lifetime + 1))
    refused = refresh(client, trusted_rp.client_id, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=lifetime - 60))
    assert refresh(client, trusted_rp.client_id, tokens["refresh_token"]).status_code == 200


def test_a_rotated_refresh_token_is_refused_at_once(client, tokens, trusted_rp):
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = basic(trusted_rp.client_id)
    assert client.post(reverse("oidc:token"), refresh, HTTP_AUTHORIZATION=auth).status_code == 200
    again = client.post(reverse("oidc:token"), refresh, HTTP_AUTHORIZATION=auth)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # and the old access token went with it (rotation revokes the pair)
    userinfo = client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401


def test_replaying_a_rotated_refresh_token_revokes_its_successor_too(client, tokens, trusted_rp):
    rotated = refresh(client, trusted_rp.client_id, tokens["refresh_token"])
    assert rotated.status_code == 200
    replayed = refresh(client, trusted_rp.client_id, tokens["refresh_token"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    # reuse protection: the token family is revoked, the successor with it
    successor = refresh(client, trusted_rp.client_id, rotated.json()["refresh_token"])
    assert successor.status_code == 400 and successor.json()["error"] == "invalid_grant"
    bearer = f"Bearer {rotated.json()['access_token']}"
    assert client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=bearer).status_code == 401


def test_a_revoked_access_token_stops_working_at_the_next_request(client, tokens, trusted_rp):
    bearer = f"Bearer {tokens['access_token']}"
    assert client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=bearer).status_code == 200
    revoked = client.post(
        reverse("oidc:revoke"),
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    assert revoked.status_code == 200
    assert client.get(reverse("oidc:userinfo"), HTTP_AUTHORIZATION=bearer).status_code == 401


# --- PreparedQuery answers what the ORM answers ----------------------------------------------------------
def graph(token) -> dict[str, object]:
    profile = token.user.profile
    override = getattr(profile.subject, "username_override", None)
    return {
        "token": {f.attname: getattr(token, f.attname) for f in token._meta.concrete_fields},
        "user": {f.attname: getattr(token.user, f.attname) for f in token.user._meta.concrete_fields},
        "profile": {f.attname: getattr(profile, f.attname) for f in profile._meta.concrete_fields},
        "subject": {
            f.attname: getattr(profile.subject, f.attname) for f in profile.subject._meta.concrete_fields
        },
        "override": override.username if override else None,
        "preferred_username": profile.preferred_username,
    }


def test_prepared_lookup_builds_what_the_orm_builds(tokens):
    from accounts.models import UsernameOverride

    digest = checksum(tokens["access_token"])
    orm = ACCESS_TOKEN_BY_CHECKSUM.queryset(digest).get()
    prepared = ACCESS_TOKEN_BY_CHECKSUM.first(digest)
    assert prepared is not None and graph(prepared) == graph(orm)
    assert prepared.application.client_id == orm.application.client_id
    with CaptureQueriesContext(connection) as captured:
        graph(prepared)  # every related object came with the one query
    assert not captured.captured_queries

    UsernameOverride.objects.create(subject=orm.user.profile.subject, username="alice.j", reason="test")
    overridden = ACCESS_TOKEN_BY_CHECKSUM.first(digest)
    assert (
        overridden is not None and overridden.user.profile.preferred_username == "alice.j@portal.example.edu"
    )
    assert ACCESS_TOKEN_BY_CHECKSUM.first("0" * 64) is None


def test_prepared_locking_lookup_returns_every_row(tokens):
    digest = checksum(tokens["refresh_token"])
    with transaction.atomic():
        rows = LOCKED_REFRESH_TOKENS.all(digest)
    assert [r.pk for r in rows] == list(
        RefreshToken.objects.filter(token_checksum=digest).values_list("pk", flat=True)
    )
    assert rows[0].user.profile.sub


def test_prepared_query_refuses_a_sentinel_it_cannot_find():
    bad = PreparedQuery(lambda digest: AccessToken.objects.select_related(USER_CLAIMS_PATH).all()[:1], ["x"])
    with pytest.raises(ValueError, match="sentinel"):
        bad.first("y")


# --- keys: a snapshot per worker, never stale in the process that changes them ---------------------------
def test_jwks_is_served_from_the_snapshot_with_etag_and_a_bounded_max_age(client):
    first = client.get(reverse("oidc:jwks"))
    assert first.status_code == 200
    budget = keys.JWKS_MAX_AGE_SECONDS - keys.KEY_CACHE_SECONDS - keys.METADATA_RESPONSE_CACHE_SECONDS
    assert f"max-age={budget}" in first["Cache-Control"]
    assert budget == keys.JWKS_HTTP_MAX_AGE_SECONDS
    again = client.get(reverse("oidc:jwks"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]


def test_rotation_in_this_process_shows_in_the_jwks_and_signatures_at_once(client):
    before = [k["kid"] for k in client.get(reverse("oidc:jwks")).json()["keys"]]
    upcoming = keys.prepublish_next_key()
    assert [k["kid"] for k in client.get(reverse("oidc:jwks")).json()["keys"]] == [*before, upcoming.kid]
    SigningKey.objects.filter(pk=upcoming.pk).update(created_at=timezone.now() - timedelta(hours=1))
    keys.activate_next_key()
    assert client.get(reverse("oidc:jwks")).json()["keys"][0]["kid"] == upcoming.kid
    token = keys.sign({"iss": "http://127.0.0.1:8000", "sub": "x"})
    assert keys.verify_own_jwt(token)["sub"] == "x"
    from jwcrypto import jws

    parsed = jws.JWS()
    parsed.deserialize(token)
    assert parsed.jose_header["kid"] == upcoming.kid


@pytest.mark.django_db(transaction=True)
def test_other_processes_changes_reach_a_worker_within_the_key_cache_time(client, monkeypatch):
    # Outside a transaction the snapshot is kept: rows it read are committed.
    kids = [k["kid"] for k in client.get(reverse("oidc:jwks")).json()["keys"]]
    assert keys._snapshot is not None
    # Another process (a cron job) pre-publishes a key: no signal reaches this worker.
    row = SigningKey.objects.get(kid=kids[0])
    SigningKey.objects.bulk_create(
        [
            SigningKey(
                kid="other-process",
                state=SigningKey.State.NEXT,
                private_key_encrypted="x",
                public_jwk=row.public_jwk | {"kid": "other-process"},
            )
        ]
    )
    assert "other-process" not in [k["kid"] for k in client.get(reverse("oidc:jwks")).json()["keys"]]
    now = keys.time.monotonic()
    monkeypatch.setattr(keys.time, "monotonic", lambda: now + keys.KEY_CACHE_SECONDS + 1)
    assert "other-process" in [k["kid"] for k in client.get(reverse("oidc:jwks")).json()["keys"]]


def test_a_snapshot_read_inside_a_transaction_is_not_kept():
    keys.forget_cached_keys()
    with transaction.atomic():
        snapshot = keys.key_snapshot()
    assert snapshot.active.kid and keys._snapshot is None


def test_the_audit_trail_costs_the_code_exchange_and_the_refresh_one_insert_each(client, tokens, trusted_rp):
    def audited(response_of) -> tuple[int, Counter[str]]:
        with CaptureQueriesContext(connection) as captured:
            response = response_of()
        assert response.status_code == 200, response.content
        inserts = [
            q for q in captured.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')
        ]
        return len(inserts), reads(captured)

    code, verifier = authorization_code(client, trusted_rp)
    keys.key_snapshot()
    inserts, counts = audited(lambda: exchange(client, trusted_rp, code, verifier))
    assert inserts == 1 and counts["accounts_profile"] == 0  # the profile came with the grant's user
    refresh = lambda: client.post(  # noqa: E731
        reverse("oidc:token"),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(trusted_rp.client_id),
    )
    inserts, counts = audited(refresh)
    assert inserts == 1 and counts["accounts_profile"] == 0
