"""MediaWiki :pbkdf2:, :B: and :A: (MediaWiki's tests/phpunit/includes/password/ vectors)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import MediawikiPbkdf2
from tests.accounts.hashers import references as ref

KNOWN_ANSWERS = [
    # Pbkdf2PasswordTest::providePasswordTests (the RFC 6070 PBKDF2-HMAC-SHA1 vectors).
    ("password", ":pbkdf2:sha1:1:20:c2FsdA==:DGDID5YfDnHzqbUkr2ASBi/gN6Y=", "mediawiki_pbkdf2"),
    ("password", ":pbkdf2:sha1:2:20:c2FsdA==:6mwBTcctb4zNHtkqzh1B8NjeiVc=", "mediawiki_pbkdf2"),
    ("password", ":pbkdf2:sha1:4096:20:c2FsdA==:SwB5AbdlSJq+rUnZJvch0GWkKcE=", "mediawiki_pbkdf2"),
    # MWSaltedPasswordTest::providePasswordTests.
    ("password", ":B:salt:9842afc7cb949c440c51347ed809362f", "mediawiki_b"),
    # MWOldPasswordTest::providePasswordTests, including MediaWiki 1.24-1.34's salted :A: form.
    ("password", ":A:5f4dcc3b5aa765d61d8327deb882cf99", "mediawiki_a"),
    ("password", ":A:salt:9842afc7cb949c440c51347ed809362f", "mediawiki_a"),
]

# The same tests' negative cases: a hash of something else.
WRONG = [
    (":B:salt:d529e941509eb9e9b9cfaeae1fe7ca23", "mediawiki_b"),
    (":A:d529e941509eb9e9b9cfaeae1fe7ca23", "mediawiki_a"),
    (":A:salt:d529e941509eb9e9b9cfaeae1fe7ca23", "mediawiki_a"),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password, stored) == Verification(True, scheme, "ok")
    assert verify_password(password + "x", stored) == Verification(False, scheme, "mismatch")


@pytest.mark.parametrize(("stored", "scheme"), WRONG)
def test_mediawikis_negative_cases_mismatch(stored: str, scheme: str) -> None:
    assert verify_password("password", stored) == Verification(False, scheme, "mismatch")


def test_default_mediawiki_parameters() -> None:
    """MediaWiki's $wgPasswordConfig['pbkdf2']: sha512, 30,000 iterations, 64 bytes."""
    stored = ref.mediawiki_pbkdf2("lètmein", "sha512", 30_000, 64, bytes(range(16)))
    assert verify_password("lètmein", stored) == Verification(True, "mediawiki_pbkdf2", "ok")


@settings(max_examples=40, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    algorithm=st.sampled_from(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    cost=st.integers(1, 50),
    # At least 8 bytes: a shorter derived key collides for a wrong password often enough
    # (1 in 256 at one byte) to make the mismatch assertion below flaky.
    length=st.integers(8, 100),
    salt=st.binary(min_size=1, max_size=24),
)
def test_pbkdf2_agrees_with_the_reference(
    password: str, algorithm: str, cost: int, length: int, salt: bytes
) -> None:
    stored = ref.mediawiki_pbkdf2(password, algorithm, cost, length, salt)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    salt=st.text("0123456789abcdef", min_size=1, max_size=16),
)
def test_salted_md5_agrees_with_the_reference(password: str, salt: str) -> None:
    stored = ref.mediawiki_b(password, salt)
    assert verify_password(password, stored).ok
    assert verify_password(password, stored.replace(":B:", ":A:", 1)).ok  # old MediaWiki read both
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_legacy_encoding_retry_is_not_done() -> None:
    """MediaWiki's own test: with $wgLegacyEncoding a Latin-1 hash of "áéíóú" verifies; not here."""
    inner = hashlib.md5(b"\xe1\xe9\xed\xf3\xfa").hexdigest()
    stored = ":B:salt:" + hashlib.md5(f"salt-{inner}".encode()).hexdigest()
    assert verify_password("áéíóú", stored) == Verification(False, "mediawiki_b", "mismatch")


def test_iterations_above_the_budget_are_refused_without_hashing() -> None:
    stored = f":pbkdf2:sha512:{MediawikiPbkdf2.max_work}:64:c2FsdA==:" + "A" * 86 + "=="
    assert verify_password("password", stored) == Verification(
        False, "mediawiki_pbkdf2", "unsupported_scheme"
    )


GOOD = KNOWN_ANSWERS[0][1]


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        (":pbkdf2:", "mediawiki_pbkdf2"),
        (GOOD.replace("sha1", "sha3_256"), "mediawiki_pbkdf2"),
        (GOOD.replace("sha1", "SHA1"), "mediawiki_pbkdf2"),
        (GOOD.replace(":1:20:", ":0:20:"), "mediawiki_pbkdf2"),
        (GOOD.replace(":1:20:", ":01:20:"), "mediawiki_pbkdf2"),
        (GOOD.replace(":1:20:", ":1:21:"), "mediawiki_pbkdf2"),  # length does not match the hash
        (GOOD.replace(":1:20:", ":1:x:"), "mediawiki_pbkdf2"),
        (GOOD.replace("c2FsdA==", ""), "mediawiki_pbkdf2"),
        (GOOD.replace("c2FsdA==", "c2FsdA"), "mediawiki_pbkdf2"),
        (GOOD[:-1], "mediawiki_pbkdf2"),
        (GOOD + ":", "mediawiki_pbkdf2"),
        (":B:", "mediawiki_b"),
        (":B:salt", "mediawiki_b"),
        (":B::9842afc7cb949c440c51347ed809362f", "mediawiki_b"),
        (":B:salt:9842AFC7CB949C440C51347ED809362F", "mediawiki_b"),  # PHP's md5() is lower case
        (":B:salt:9842afc7cb949c440c51347ed809362", "mediawiki_b"),
        (":B:s:a:9842afc7cb949c440c51347ed809362f", "mediawiki_b"),
        (":A:", "mediawiki_a"),
        (":A:5f4dcc3b5aa765d61d8327deb882cf9", "mediawiki_a"),
        (":A:5f4dcc3b5aa765d61d8327deb882cf99:", "mediawiki_a"),
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str, scheme: str) -> None:
    assert verify_password("password", stored) == Verification(False, scheme, "malformed_hash")
