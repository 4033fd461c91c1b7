"""Brute-force protection on the login form: progressive delays, then a lockout, per username and address."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import throttle
from accounts.models import LoginThrottle
from audit.models import AuditEvent
from tests.accounts.test_accounts_login import _without_form_values

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle.timezone, "now", fake)
    return fake


@pytest.fixture
def limits(settings):
    """Small thresholds: two free failures, then 1 s and 2 s waits, locked at the fifth failure."""
    settings.BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES = 2
    settings.BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES = 5
    settings.BRIDGE_LOGIN_IP_FREE_FAILURES = 100
    settings.BRIDGE_LOGIN_IP_LOCKOUT_FAILURES = 200
    settings.BRIDGE_LOGIN_DELAY_SECONDS = 1
    settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS = 60
    settings.BRIDGE_LOGIN_LOCKOUT_SECONDS = 600
    settings.BRIDGE_LOGIN_WINDOW_SECONDS = 900
    return settings


@pytest.fixture
def staff_client(django_user_model):
    from django.test import Client

    staff = Client()
    admin = django_user_model.objects.create_superuser("admin", "admin@example.org", "admin-pass")
    staff.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    return staff


def attempt(client, login, password, address="192.0.2.10"):
    return client.post(LOGIN, {"login": login, "password": password}, REMOTE_ADDR=address)


def test_failures_slow_down_then_lock_the_username_and_the_right_password_waits_too(
    client, portal, clock, limits
):
    portal.add_user("ajones", "correct horse")
    for _ in range(3):  # two free failures; the third earns a 1 s wait
        assert attempt(client, "ajones", "wrong").status_code == 200
    early = attempt(client, "ajones", "correct horse")
    assert early.status_code == 429 and early["Retry-After"] == "1"
    assert "Wait 1 second before trying again" in early.content.decode()
    assert "_auth_user_id" not in client.session

    clock.advance(1)
    assert attempt(client, "ajones", "wrong").status_code == 200  # fourth: now a 2 s wait
    assert attempt(client, "ajones", "correct horse")["Retry-After"] == "2"
    clock.advance(2)
    assert attempt(client, "ajones", "wrong").status_code == 200  # fifth: locked for 10 minutes

    locked = attempt(client, "ajones", "correct horse")
    page = locked.content.decode()
    assert locked.status_code == 429 and locked["Retry-After"] == "600"
    assert "too many failed sign-in attempts for this username" in page
    assert "Try again in about 10 minutes" in page and "contact" in page
    event = AuditEvent.objects.get(event="login.locked")
    assert event.ip_address == "192.0.2.10"
    assert event.details["normalized_username"] == "ajones" and event.details["scope"] == "account"

    clock.advance(600)
    assert attempt(client, "ajones", "correct horse").status_code == 303
    assert not LoginThrottle.objects.filter(scope="account").exists()  # a success starts afresh


def test_refused_attempts_never_reach_the_legacy_database(client, portal, clock, limits, settings):
    portal.add_user("ajones", "correct horse")
    for _ in range(5):
        attempt(client, "ajones", "wrong")
        clock.advance(60)
    settings.LEGACY_DATABASE_URL = "sqlite:////nonexistent/dir/portal.db"  # would be a 503 if asked
    from accounts.legacy import reset_user_source

    reset_user_source()
    assert attempt(client, "ajones", "correct horse").status_code == 429


def test_case_and_width_variants_of_a_username_share_one_counter(client, portal, clock, limits):
    portal.add_user("ajones", "correct horse")
    for variant in ["AJones", "ajones", "ＡＪｏｎｅｓ"]:
        attempt(client, variant, "wrong")
    assert LoginThrottle.objects.get(scope="account").failures == 3
    assert attempt(client, "AJONES", "correct horse").status_code == 429


def test_an_unknown_username_is_slowed_and_locked_exactly_like_a_known_one(client, portal, clock, limits):
    portal.add_user("ajones", "correct horse")
    for step in range(7):
        known = attempt(client, "ajones", "wrong", address="192.0.2.1")
        unknown = attempt(client, "nobody", "wrong", address="192.0.2.2")
        assert known.status_code == unknown.status_code, step
        assert known.get("Retry-After") == unknown.get("Retry-After"), step
        assert _without_form_values(known.content.decode()) == _without_form_values(
            unknown.content.decode()
        ), step
        clock.advance(1 if step < 3 else 2)
    assert AuditEvent.objects.filter(event="login.locked").count() == 2


def test_one_address_trying_many_usernames_is_slowed_and_locked(client, portal, clock, settings):
    settings.BRIDGE_LOGIN_IP_FREE_FAILURES = 2
    settings.BRIDGE_LOGIN_IP_LOCKOUT_FAILURES = 4
    portal.add_user("ajones", "correct horse")
    for n in range(3):  # two free failures, the third earns a 1 s wait
        assert attempt(client, f"user{n}", "guess", address="198.51.100.7").status_code == 200
    assert attempt(client, "user9", "guess", address="198.51.100.7")["Retry-After"] == "1"
    clock.advance(1)
    attempt(client, "user4", "guess", address="198.51.100.7")  # the fourth: the address is locked
    locked = attempt(client, "ajones", "correct horse", address="198.51.100.7")
    assert locked.status_code == 429 and "from your network" in locked.content.decode()
    # another address, and the same username from it, are not affected
    assert attempt(client, "ajones", "correct horse", address="198.51.100.8").status_code == 303


def test_behind_a_trusted_proxy_the_client_address_is_counted_not_the_proxy(client, portal, clock, settings):
    from ipaddress import ip_network

    settings.BRIDGE_TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    settings.BRIDGE_LOGIN_IP_FREE_FAILURES = 1
    for n in range(2):
        client.post(
            LOGIN,
            {"login": f"user{n}", "password": "guess"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    assert list(LoginThrottle.objects.filter(scope="ip").values_list("key", "failures")) == [
        ("203.0.113.9", 2)
    ]


def test_an_outage_costs_nobody_an_attempt(client, portal, limits, settings):
    from accounts.legacy import reset_user_source

    settings.LEGACY_DATABASE_URL = "sqlite:////nonexistent/dir/portal.db"
    reset_user_source()
    for _ in range(6):
        assert attempt(client, "ajones", "correct horse").status_code == 503
    assert set(LoginThrottle.objects.values_list("failures", flat=True)) == {0}


def test_a_success_refunds_the_address_and_clears_the_username(client, portal, clock, limits):
    portal.add_user("ajones", "correct horse")
    attempt(client, "ajones", "wrong")
    attempt(client, "ajones", "correct horse")
    assert list(LoginThrottle.objects.values_list("scope", "failures")) == [("ip", 1)]


def test_switched_off_it_counts_nothing(client, portal, settings):
    settings.BRIDGE_LOGIN_THROTTLE = False
    for _ in range(12):
        assert attempt(client, "ajones", "wrong").status_code == 200
    assert not LoginThrottle.objects.exists()


def test_the_admin_shows_lockouts_and_lifts_them_with_an_audit_event(
    client, portal, clock, limits, staff_client
):
    portal.add_user("ajones", "correct horse")
    for _ in range(5):
        attempt(client, "ajones", "wrong")
        clock.advance(10)
    listing = staff_client.get(reverse("admin:accounts_loginthrottle_changelist")).content.decode()
    assert "ajones" in listing and "locked" in listing
    row = LoginThrottle.objects.get(scope="account")
    response = staff_client.post(
        reverse("admin:accounts_loginthrottle_changelist"),
        {"action": "lift", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    assert not LoginThrottle.objects.filter(scope="account").exists()
    lifted = AuditEvent.objects.get(event="login.unlocked")
    assert lifted.details == {"scope": "account", "unlocked_by": "admin", "normalized_username": "ajones"}
    assert attempt(client, "ajones", "correct horse").status_code == 303


def test_stale_counters_are_pruned_and_live_ones_kept(client, portal, clock, limits):
    attempt(client, "old", "guess", address="192.0.2.50")
    clock.advance(901)
    attempt(client, "recent", "guess", address="192.0.2.51")
    out = io.StringIO()
    call_command("prune_login_throttles", stdout=out)
    assert "Deleted 2 expired" in out.getvalue()
    assert sorted(LoginThrottle.objects.values_list("key", flat=True)) == ["192.0.2.51", "recent"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_cannot_slip_past_the_limit(settings):
    """Charged before verifying, under a row lock: 12 simultaneous guesses, 3 allowed before the lockout."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("threads need separate connections to one database file or server")
    settings.BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES = 3
    settings.BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES = 3
    settings.BRIDGE_LOGIN_IP_FREE_FAILURES = 1000
    settings.BRIDGE_LOGIN_IP_LOCKOUT_FAILURES = 1000
    results: list[object] = []
    barrier = threading.Barrier(12)

    def guess(n: int) -> None:
        try:
            barrier.wait()
            results.append(throttle.begin("ajones", f"192.0.2.{n}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = [r for r in results if isinstance(r, throttle.Attempt)]
    assert len(results) == 12 and len(allowed) == 3


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"BRIDGE_LOGIN_DELAY_SECONDS": 5, "BRIDGE_LOGIN_MAX_DELAY_SECONDS": 2}, "accounts.E020"),
        ({"BRIDGE_LOGIN_LOCKOUT_SECONDS": 30, "BRIDGE_LOGIN_MAX_DELAY_SECONDS": 60}, "accounts.E021"),
        (
            {"BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES": 10, "BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES": 10},
            "accounts.W020",
        ),
        ({"BRIDGE_LOGIN_IP_LOCKOUT_FAILURES": 8, "BRIDGE_LOGIN_IP_FREE_FAILURES": 5}, "accounts.W021"),
    ],
)
def test_thresholds_that_do_not_fit_together_are_named_at_start_up(settings, overrides, expected):
    from accounts.checks import login_throttle_check

    assert not login_throttle_check(None)  # the defaults fit
    for name, value in overrides.items():
        setattr(settings, name, value)
    found = login_throttle_check(None)
    assert [message.id for message in found] == [expected]
    assert next(iter(overrides)) in found[0].msg and found[0].hint


def test_check_deploy_warns_when_throttling_is_off(settings):
    from accounts.checks import login_throttle_deploy_check

    assert not login_throttle_deploy_check(None)
    settings.BRIDGE_LOGIN_THROTTLE = False
    assert [message.id for message in login_throttle_deploy_check(None)] == ["accounts.W022"]


def test_the_admin_login_is_throttled_apart_from_the_portal_username(
    client, portal, clock, limits, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.org", "admin-pass")
    portal.add_user("root", "portal-pass")
    for _ in range(3):  # two free failures, the third earns a 1 s wait
        assert client.post("/admin/login/", {"username": "root", "password": "guess"}).status_code == 200
    refused = client.post("/admin/login/", {"username": "root", "password": "admin-pass"})
    assert "Wait 1 second" in refused.content.decode() and "_auth_user_id" not in client.session
    # the portal's "root" has a counter of its own: the admin's failures do not slow it, nor back
    assert attempt(client, "root", "portal-pass", address="192.0.2.99").status_code == 303
    assert LoginThrottle.objects.get(scope="admin").failures == 3
    clock.advance(1)
    assert client.post("/admin/login/", {"username": "root", "password": "admin-pass"}).status_code == 302
    assert not LoginThrottle.objects.filter(scope="admin").exists()
