"""Nobody learns whether a username exists: same page, same status, same time for every failure.

(Timing over real HTTP, against a live bridge and the demo portal's schemes, is measured by
benchmarks/enumeration_timing.py; figures in docs/security.md.)
"""

from __future__ import annotations

import time

import bcrypt
import pytest
from django.urls import reverse

from accounts import authentication
from tests.accounts.test_accounts_login import WRONG, _without_form_values

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
BCRYPT_COST = 9  # about 30 ms: costly enough to measure, cheap enough for the suite


@pytest.fixture(autouse=True)
def fresh_calibration():
    authentication._TimingCalibration.forget()
    yield
    authentication._TimingCalibration.forget()


@pytest.fixture
def mixed_portal(portal):
    """A portal whose accounts use a costly and a cheap scheme, plus an inactive and an odd one."""
    costly = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(BCRYPT_COST)).decode()
    portal.add_user("costly", "correct horse", pass_hash=costly)
    portal.add_user("cheap", "correct horse", scheme="sha512_crypt")
    portal.add_user("inactive", "correct horse", pass_hash=costly, status=0)
    portal.add_user("oddhash", "correct horse", pass_hash="{UNHEARD-OF}c29tZXRoaW5n")
    return portal


FAILURES = {
    "wrong password": ("costly", "wrong"),
    "wrong password, cheap scheme": ("cheap", "wrong"),
    "unknown user": ("nobody", "wrong"),
    "inactive account, right password": ("inactive", "correct horse"),
    "unknown hash format": ("oddhash", "correct horse"),
}


def test_every_failure_gives_the_same_page_and_status(client, mixed_portal):
    pages = {}
    for label, (login, password) in FAILURES.items():
        response = client.post(LOGIN, {"login": login, "password": password})
        assert response.status_code == 200, label
        assert WRONG in response.content.decode(), label
        pages[label] = _without_form_values(response.content.decode())
    assert len(set(pages.values())) == 1, [
        label for label in pages if pages[label] != pages["wrong password"]
    ]


def seconds(login: str, password: str) -> float:
    started = time.perf_counter()
    outcome = authentication.check_legacy_credentials(login, password)
    assert not outcome.ok
    return time.perf_counter() - started


def test_every_failure_costs_at_least_the_costliest_schemes_verification(mixed_portal):
    for _ in range(3):  # the bridge learns what the portal's costliest verification costs
        seconds("costly", "wrong")
    _, floor = authentication._TimingCalibration.costliest()
    assert floor > 0.005
    for label, (login, password) in FAILURES.items():
        spent = min(seconds(login, password) for _ in range(3))
        assert spent >= floor * 0.9, f"{label}: {spent * 1000:.1f} ms < {floor * 1000:.1f} ms"


def test_unknown_users_are_verified_against_the_costliest_scheme_seen(mixed_portal, monkeypatch):
    seconds("cheap", "wrong")
    seconds("costly", "wrong")
    seconds("cheap", "wrong")  # the most recent is cheap; the costliest is still bcrypt
    verified = []
    real = authentication.verify_password
    monkeypatch.setattr(
        authentication,
        "verify_password",
        lambda pw, stored, **kw: verified.append(stored) or real(pw, stored, **kw),
    )
    seconds("nobody", "wrong")
    assert len(verified) == 1 and verified[0].startswith(f"$2b$0{BCRYPT_COST}$")


def test_a_configured_dummy_hash_is_used_and_sets_the_floor(mixed_portal, settings, monkeypatch):
    from accounts.hashers import dummy

    settings.BRIDGE_DUMMY_HASH = bcrypt.hashpw(b"x", bcrypt.gensalt(BCRYPT_COST)).decode()
    monkeypatch.setattr(dummy, "_resolved", None)
    seconds("nobody", "wrong")
    assert "BRIDGE_DUMMY_HASH" in authentication._TimingCalibration.durations
    assert seconds("cheap", "wrong") >= authentication._TimingCalibration.costliest()[1] * 0.9
