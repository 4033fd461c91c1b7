"""Django's argon2$, bcrypt_sha256$ and scrypt$: Django's own vectors, and agreement with Django."""

from __future__ import annotations

import bcrypt
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, BCryptSHA256PasswordHasher, ScryptPasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import DjangoScrypt
from tests.accounts.hashers import references as ref

KNOWN_ANSWERS = [
    # Django's tests/auth_tests/test_hashers.py, test_argon2: a version-less (Argon2 1.0) hash and a
    # v=19 one, both of "secret".
    (
        "secret",
        "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
        "django_argon2",
    ),
    ("secret", "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "django_argon2"),
    # Django's test_scrypt: make_password("lètmein", "seasalt", "scrypt") with Django's defaults.
    (
        "lètmein",
        "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==",
        "django_scrypt",
    ),
    # Django's test suite pins no bcrypt_sha256 value; this one is Django 5.2's
    # BCryptSHA256PasswordHasher().encode("lètmein", b"$2b$04$abcdefghijklmnopqrstuu"), re-derived
    # below by test_bcrypt_sha256_vector_is_djangos.
    (
        "lètmein",
        "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
        "django_bcrypt_sha256",
    ),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password, stored) == Verification(True, scheme, "ok")


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_reject_a_wrong_password(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password + "z", stored) == Verification(False, scheme, "mismatch")
    assert verify_password("wrong", stored) == Verification(False, scheme, "mismatch")


def test_bcrypt_sha256_vector_is_djangos() -> None:
    salt = b"$2b$04$abcdefghijklmnopqrstuu"
    expected = KNOWN_ANSWERS[3][1]
    assert BCryptSHA256PasswordHasher().encode("lètmein", salt) == expected
    assert ref.django_bcrypt_sha256("lètmein", salt) == expected


def test_bcrypt_sha256_uses_the_whole_password() -> None:
    """Django's own check: the pre-hash means a 100-character password is not cut at 72 bytes."""
    password = (
        "VSK0UYV6FFQVZ0KG88DYN9WADAADZO1CTSIVDJUNZSUML6IBX7LN7ZS3R5JGB3RGZ7VI7G7DJQ9NI8BQFSRPTG6UWTTVESA5ZPUN"
    )
    stored = BCryptSHA256PasswordHasher().encode(password, bcrypt.gensalt(4))
    assert verify_password(password, stored).ok
    assert verify_password(password[:72], stored).reason == "mismatch"


def _argon2_hasher(memory: int, time_cost: int) -> Argon2PasswordHasher:
    hasher = Argon2PasswordHasher()
    hasher.memory_cost, hasher.time_cost, hasher.parallelism = memory, time_cost, 1
    return hasher


utf8 = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, database=None)
@given(password=utf8, memory=st.integers(min_value=8, max_value=128), time_cost=st.integers(1, 2))
def test_argon2_agrees_with_django(password: str, memory: int, time_cost: int) -> None:
    hasher = _argon2_hasher(memory, time_cost)
    stored = hasher.encode(password, hasher.salt())
    assert verify_password(password, stored) == Verification(True, "django_argon2", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


@settings(max_examples=15, deadline=None, database=None)
@given(password=utf8)
def test_bcrypt_sha256_agrees_with_django(password: str) -> None:
    stored = BCryptSHA256PasswordHasher().encode(password, bcrypt.gensalt(4))
    assert verify_password(password, stored) == Verification(True, "django_bcrypt_sha256", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


@settings(max_examples=25, deadline=None, database=None)
@given(
    password=utf8,
    salt=st.text(st.characters(codec="utf-8", exclude_characters="$\x00"), min_size=1, max_size=20),
    n=st.sampled_from([2, 16, 64]),
    r=st.integers(1, 4),
    p=st.integers(1, 2),
)
def test_scrypt_agrees_with_django(password: str, salt: str, n: int, r: int, p: int) -> None:
    stored = ScryptPasswordHasher().encode(password, salt, n=n, r=r, p=p)
    assert verify_password(password, stored) == Verification(True, "django_scrypt", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_scrypt_above_the_ceilings_is_refused_without_hashing() -> None:
    base = "scrypt${n}$seasalt${r}${p}$" + KNOWN_ANSWERS[2][1].rsplit("$", 1)[1]
    for n, r, p in [(2**21, 1, 1), (2**20, 8, 1), (2**16, 8, 64), (2**14, 8, DjangoScrypt.max_work)]:
        assert verify_password("lètmein", base.format(n=n, r=r, p=p)) == Verification(
            False, "django_scrypt", "unsupported_scheme"
        )


def test_argon2_within_djangos_format_uses_the_argon2_ceilings() -> None:
    too_big = "argon2$argon2id$v=19$m=2000000,t=2,p=8$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q"
    assert verify_password("secret", too_big) == Verification(False, "django_argon2", "unsupported_scheme")


ARGON2 = KNOWN_ANSWERS[1][1]
SCRYPT = KNOWN_ANSWERS[2][1]
BCRYPT = KNOWN_ANSWERS[3][1]


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("argon2$", "django_argon2"),
        ("argon2$argon2x$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "django_argon2"),
        ("argon2$$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "django_argon2"),
        (ARGON2[:-1], "django_argon2"),
        (ARGON2 + "\n", "django_argon2"),
        ("bcrypt_sha256$", "django_bcrypt_sha256"),
        ("bcrypt_sha256$$", "django_bcrypt_sha256"),
        (BCRYPT[:-1], "django_bcrypt_sha256"),
        (BCRYPT.replace("$$2b$", "$2b$"), "django_bcrypt_sha256"),
        (BCRYPT.replace("$04$", "$03$"), "django_bcrypt_sha256"),
        ("scrypt$", "django_scrypt"),
        (SCRYPT.replace("$16384$", "$16383$"), "django_scrypt"),  # not a power of two
        (SCRYPT.replace("$16384$", "$016384$"), "django_scrypt"),  # Django never writes this
        (SCRYPT.replace("$16384$", "$1$"), "django_scrypt"),
        (SCRYPT.replace("$8$1$", "$0$1$"), "django_scrypt"),
        (SCRYPT.replace("$8$1$", "$8$$"), "django_scrypt"),
        (SCRYPT.replace("$seasalt$", "$$"), "django_scrypt"),
        (SCRYPT[:-2], "django_scrypt"),  # padding missing
        (SCRYPT.replace("Pw==", "Px=="), "django_scrypt"),  # non-canonical base64 (stray low bits)
        (SCRYPT.rsplit("$", 1)[0] + "$" + "A" * 43 + "=", "django_scrypt"),  # a 32-byte key, not 64
        (SCRYPT + "$", "django_scrypt"),
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str, scheme: str) -> None:
    assert verify_password("lètmein", stored) == Verification(False, scheme, "malformed_hash")


def test_bcrypt_sha256_refuses_the_buggy_2x_variant() -> None:
    stored = BCRYPT.replace("$2b$", "$2x$")
    assert verify_password("lètmein", stored) == Verification(
        False, "django_bcrypt_sha256", "unsupported_scheme"
    )
