"""bcrypt: known answers from PHP, crypt_blowfish and libxcrypt, and the 72-byte rule."""

from __future__ import annotations

import bcrypt
import pytest

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import Bcrypt

# (password, hash) produced by implementations other than the one under test.
KNOWN_ANSWERS = [
    # PHP manual, password_verify() example (cost 10).
    ("rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"),
    # crypt_blowfish's wrapper.c test vectors (also in PHP's ext/standard/tests/crypt).
    ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
    ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
    (
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
        "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
    ),
    # libxcrypt crypt(3): "a" + "€" x 24 is 73 bytes; byte 72 is the middle of the last "€".
    ("a" + "€" * 24, "$2b$04$abcdefghijklmnopqrstuujp5JQpJgOEIQ/skao5041cEchUVGJ/W"),
    ("a" + "€" * 24, "$2y$04$abcdefghijklmnopqrstuujp5JQpJgOEIQ/skao5041cEchUVGJ/W"),
    # libxcrypt, a non-ASCII password within 72 bytes.
    ("lètmein", "$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG"),
]


@pytest.mark.parametrize(("password", "stored"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str) -> None:
    assert verify_password(password, stored) == Verification(True, "bcrypt", "ok")


@pytest.mark.parametrize(("password", "stored"), KNOWN_ANSWERS)
def test_known_answers_reject_a_wrong_password(password: str, stored: str) -> None:
    wrong = "X" + password[1:]
    assert verify_password(wrong, stored) == Verification(False, "bcrypt", "mismatch")


@pytest.mark.parametrize("ident", ["$2a$", "$2b$", "$2y$"])
def test_2a_2b_2y_are_the_same_algorithm(ident: str) -> None:
    stored = ident + "10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
    assert verify_password("rasmuslerdorf", stored).ok


def test_only_the_first_72_bytes_count() -> None:
    """A 100-byte legacy password gets in; so does anything sharing its first 72 bytes."""
    long_password = "0123456789" * 10
    stored = bcrypt.hashpw(long_password.encode()[:72], b"$2b$04$abcdefghijklmnopqrstuu").decode()
    assert verify_password(long_password, stored).ok
    assert verify_password(long_password[:72], stored).ok
    assert verify_password(long_password[:72] + "anything else", stored).ok
    assert verify_password(long_password[:71], stored).reason == "mismatch"
    assert verify_password("X" + long_password[1:], stored).reason == "mismatch"


def test_72_byte_cut_falls_inside_a_multibyte_character() -> None:
    """PHP-style truncation is by bytes: a character split at byte 72 counts only by its head.

    "€" is E2 82 AC and "₤" is E2 82 A4: after 71 bytes, both contribute only E2, so both
    passwords verify against the hash of the 72-byte prefix, while a 71-byte prefix does not.
    """
    password = "a" + "€" * 23 + "€"  # 1 + 72 bytes
    prefix = password.encode("utf-8")[:72]
    assert prefix.endswith(b"\xe2\x82")
    stored = bcrypt.hashpw(prefix, b"$2b$04$abcdefghijklmnopqrstuu").decode()
    assert stored == "$2b$04$abcdefghijklmnopqrstuujp5JQpJgOEIQ/skao5041cEchUVGJ/W"  # as libxcrypt
    assert verify_password(password, stored).ok
    assert verify_password("a" + "€" * 23 + "₤", stored).ok
    assert verify_password("a" + "€" * 23, stored).reason == "mismatch"


@pytest.mark.parametrize(
    "stored",
    [
        "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
        "$2$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
    ],
)
def test_buggy_and_original_variants_are_unsupported(stored: str) -> None:
    assert verify_password("anything", stored) == Verification(False, "bcrypt", "unsupported_scheme")


def test_cost_above_the_ceiling_is_refused_without_hashing() -> None:
    stored = f"$2b${Bcrypt.max_cost + 1:02d}$abcdefghijklmnopqrstuujp5JQpJgOEIQ/skao5041cEchUVGJ/W"
    assert verify_password("anything", stored).reason == "unsupported_scheme"
    assert verify_password(
        "anything", "$2b$31$abcdefghijklmnopqrstuujp5JQpJgOEIQ/skao5041cEchUVGJ/W"
    ).reason == ("unsupported_scheme")


GOOD = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"


@pytest.mark.parametrize(
    "stored",
    [
        GOOD[:-1],  # truncated
        GOOD[:29],  # salt only
        GOOD + "a",  # too long
        GOOD + "\n",  # trailing newline from a sloppy export
        GOOD.replace("$10$", "$1$"),
        GOOD.replace("$10$", "$ab$"),
        GOOD.replace("$10$", "$03$"),  # below bcrypt's minimum cost
        GOOD.replace("$10$", "$32$"),  # above bcrypt's maximum cost
        GOOD[:10] + "!" + GOOD[11:],  # character outside the alphabet
        GOOD[:10] + "é" + GOOD[11:],
        GOOD[:28] + "9" + GOOD[29:],  # non-canonical last salt character
        "$2y$",
        "$2y$10$",
        "$2b$04$" + "\x00" * 53,
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str) -> None:
    assert verify_password("rasmuslerdorf", stored) == Verification(False, "bcrypt", "malformed_hash")
