"""Django PBKDF2: known answers from Django's own test suite and the RFCs, and agreement with Django."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import DjangoPbkdf2Sha256

KNOWN_ANSWERS = [
    # Django's tests/auth_tests/test_hashers.py, test_pbkdf2 / test_low_level_pbkdf2_sha1 (1.5).
    (
        "lètmein",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "django_pbkdf2_sha256",
    ),
    ("lètmein", "pbkdf2_sha1$10000$seasalt$oAfF6vgs95ncksAhGXOWf4Okq7o=", "django_pbkdf2_sha1"),
    # Django 1.4's test suite.
    ("letmein", "pbkdf2_sha1$10000$seasalt$91JiNKgwADC8j2j86Ije/cc4vfQ=", "django_pbkdf2_sha1"),
    # RFC 6070 PBKDF2-HMAC-SHA1 "password"/"salt", c=4096: 4b007901b765489abead49d926f721d065a429c1.
    ("password", "pbkdf2_sha1$4096$salt$SwB5AbdlSJq+rUnZJvch0GWkKcE=", "django_pbkdf2_sha1"),
    # RFC 7914 section 11 PBKDF2-HMAC-SHA256 "passwd"/"salt", c=1 (first 32 bytes of 55ac046e...).
    ("passwd", "pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=", "django_pbkdf2_sha256"),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password, stored) == Verification(True, scheme, "ok")


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_reject_a_wrong_password(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password + "x", stored) == Verification(False, scheme, "mismatch")
    assert verify_password(password.upper(), stored) == Verification(False, scheme, "mismatch")


def test_current_django_default_iterations() -> None:
    """Django 5.2's test vector: 1,000,000 iterations (about 0.3 s)."""
    stored = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="
    assert verify_password("lètmein", stored).ok
    assert PBKDF2PasswordHasher().verify("lètmein", stored)  # the literal is what Django computes


@settings(max_examples=60, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    salt=st.text(st.characters(codec="utf-8", exclude_characters="$"), min_size=1, max_size=24),
    iterations=st.integers(min_value=1, max_value=50),
    sha1=st.booleans(),
)
def test_agrees_with_djangos_own_hasher(password: str, salt: str, iterations: int, sha1: bool) -> None:
    hasher = PBKDF2SHA1PasswordHasher() if sha1 else PBKDF2PasswordHasher()
    stored = hasher.encode(password, salt, iterations)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_iterations_above_the_ceiling_are_refused_without_hashing() -> None:
    stored = f"pbkdf2_sha256${DjangoPbkdf2Sha256.max_iterations + 1}$seasalt$" + "A" * 43 + "="
    assert verify_password("lètmein", stored) == Verification(
        False, "django_pbkdf2_sha256", "unsupported_scheme"
    )


GOOD = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="


@pytest.mark.parametrize(
    "stored",
    [
        "pbkdf2_sha256$",
        "pbkdf2_sha256$10000$seasalt",
        "pbkdf2_sha256$ten$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$0$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$-1$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$010000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",  # Django never matches
        "pbkdf2_sha256$10_000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$ 10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        # 10000 in Arabic-Indic digits: int() would accept them, Django's format does not.
        "pbkdf2_sha256$\u0661\u0660\u0660\u0660\u0660$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$99999999999999999999$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY",  # padding missing
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVZ=",  # non-canonical
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtV*=",
        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVYé",
        "pbkdf2_sha256$10000$seasalt$oAfF6vgs95ncksAhGXOWf4Okq7o=",  # a SHA-1 length digest
        "pbkdf2_sha256$10000$seasalt$",
        GOOD + "$",
        GOOD + "\n",
        "pbkdf2_sha256$10000$sea\udc80salt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",  # unencodable salt
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str) -> None:
    assert verify_password("lètmein", stored) == Verification(False, "django_pbkdf2_sha256", "malformed_hash")
