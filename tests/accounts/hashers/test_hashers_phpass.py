"""phpass portable ($P$ WordPress, $H$ phpBB3): known answers and a reference implementation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import PhpassPortable

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _encode64(data: bytes) -> str:
    """phpass's encode64(), transcribed from PasswordHash.php."""
    out = []
    i = 0
    count = len(data)
    while True:
        value = data[i]
        i += 1
        out.append(ITOA64[value & 0x3F])
        if i < count:
            value |= data[i] << 8
        out.append(ITOA64[(value >> 6) & 0x3F])
        if i >= count:
            break
        i += 1
        if i < count:
            value |= data[i] << 16
        out.append(ITOA64[(value >> 12) & 0x3F])
        if i >= count:
            break
        i += 1
        out.append(ITOA64[(value >> 18) & 0x3F])
        if i >= count:
            break
    return "".join(out)


def reference_phpass(password: str, setting: str) -> str:
    """phpass's crypt_private(), transcribed from PasswordHash.php (the oracle for these tests)."""
    count = 1 << ITOA64.index(setting[3])
    salt = setting[4:12].encode("ascii")
    secret = password.encode("utf-8")
    digest = hashlib.md5(salt + secret).digest()
    for _ in range(count):
        digest = hashlib.md5(digest + secret).digest()
    return setting[:12] + _encode64(digest)


KNOWN_ANSWERS = [
    # phpass 0.x source (test.php).
    ("test12345", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
    # John the Ripper 1.7.9 phpass vectors, including phpBB3's $H$.
    ("test1", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00"),
    ("123456", "$H$9PE8jEklgZhgLmZl5.HYJAzfGCQtzi1"),
    ("123456", "$H$9pdx7dbOW3Nnt32sikrjAxYFjX8XoK1"),
    ("thisisalongertestPW", "$P$912345678LIjjb6PhecupozNBmDndU0"),
    ("JohnRipper", "$P$612345678si5M0DDyPpmRCmcltU/YW/"),
    ("JohnRipper", "$H$712345678WhEyvy1YWzT4647jzeOmo0"),
    # WordPress's own cost: 'B' = 2^13 iterations.
    ("JohnRipper", "$P$B12345678L6Lpt4BxNotVIMILOa9u81"),
    # passlib's test vectors, one of them non-ASCII (UTF-8 is what gets hashed).
    ("compL3X!", "$P$FiS0N5L672xzQx1rt1vgdJQRYKnQM9/"),
    ("t\u00e1\u0411\u2113\u0259", "$P$7SMy8VxnfsIy2Sxm7fJxDSdil.h7TW."),
]


@pytest.mark.parametrize(("password", "stored"), KNOWN_ANSWERS)
def test_reference_implementation_reproduces_the_known_answers(password: str, stored: str) -> None:
    assert reference_phpass(password, stored) == stored


@pytest.mark.parametrize(("password", "stored"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str) -> None:
    assert verify_password(password, stored) == Verification(True, "phpass", "ok")


@pytest.mark.parametrize(("password", "stored"), KNOWN_ANSWERS)
def test_known_answers_reject_a_wrong_password(password: str, stored: str) -> None:
    assert verify_password(password + " ", stored) == Verification(False, "phpass", "mismatch")
    assert verify_password(password[:-1], stored) == Verification(False, "phpass", "mismatch")


@settings(max_examples=60, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=60),
    ident=st.sampled_from(["$P$", "$H$"]),
    log2_rounds=st.integers(min_value=7, max_value=9),
    salt=st.text(ITOA64, min_size=8, max_size=8),
)
def test_agrees_with_the_reference_implementation(
    password: str, ident: str, log2_rounds: int, salt: str
) -> None:
    stored = reference_phpass(password, ident + ITOA64[log2_rounds] + salt)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_the_empty_password_hash_still_refuses_the_empty_password() -> None:
    assert reference_phpass("", "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0") == "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0"
    assert verify_password("", "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0").reason == "empty_password"


def test_passwords_over_4096_characters_never_match() -> None:
    """As phpass 0.5 and WordPress's class-phpass.php do."""
    password = "a" * 4097
    stored = reference_phpass(password, "$P$512345678")
    assert verify_password(password, stored) == Verification(False, "phpass", "mismatch")


def test_rounds_above_the_ceiling_are_refused_without_hashing() -> None:
    stored = "$P$" + ITOA64[PhpassPortable.max_log2_rounds + 1] + "IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"
    assert verify_password("test12345", stored) == Verification(False, "phpass", "unsupported_scheme")


@pytest.mark.parametrize(
    "stored",
    [
        "$P$",
        "$P$9IQRaTwmf",  # setting only
        "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L",  # truncated
        "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0.",  # too long
        "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r!L0",  # passlib's malformed vector
        "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0\r\n",
        "$P$4IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",  # 2^6: below phpass's minimum
        "$P$zIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",  # 2^63: above phpass's maximum
        "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.Lé",
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str) -> None:
    assert verify_password("test12345", stored) == Verification(False, "phpass", "malformed_hash")
