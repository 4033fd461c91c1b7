"""MD5-crypt, APR1, SHA-256 crypt and Argon2 PHC strings: published vectors, strictness, ceilings.

Differential tests against the system's crypt(3) are in test_hashers_libxcrypt.py.
"""

from __future__ import annotations

import pytest
from argon2 import low_level as argon2_low_level
from hypothesis import given, settings
from hypothesis import strategies as st
from passlib import hash as passlib_hash  # type: ignore[import-untyped]

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import Argon2, Sha256Crypt

UPASS_TABLE = "t\u00e1\u0411\u2113\u0259"  # passlib's non-ASCII test password (UTF-8 is what gets hashed)

KNOWN_ANSWERS = [
    # John the Ripper 1.7.9 md5crypt vectors, as quoted in passlib's test_handlers.py.
    ("U*U*U*U*", "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1", "md5_crypt"),
    ("U*U***U", "$1$dXc3I7Rw$94JPyQc/eAgQ3MFMCoMF.0", "md5_crypt"),
    ("U*U***U*", "$1$dXc3I7Rw$is1mVIAEtAhIzSdfn5JOO0", "md5_crypt"),
    ("*U*U*U*U", "$1$eQT9Hwbt$XtuElNJD.eW5MN5UCWyTQ0", "md5_crypt"),
    # passlib's own md5_crypt vectors.
    ("test", "$1$SuMrG47N$ymvzYjr7QcEQjaK5m1PGx1", "md5_crypt"),
    ("Compl3X AlphaNu3meric", "$1$nX1e7EeI$ljQn72ZUgt6Wxd9hfvHdV0", "md5_crypt"),
    (UPASS_TABLE, "$1$d6/Ky1lU$/xpf8m7ftmWLF.TjHCqel0", "md5_crypt"),
    # Apache httpd documentation, "Password Formats" (misc/password_encryptions.html).
    ("myPassword", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "apr1"),
    # passlib's apr_md5_crypt vector.
    (UPASS_TABLE, "$apr1$bzYrOHUx$a1FcpXuQDJV3vPY20CS6N1", "apr1"),
    # "Unix crypt using SHA-256 and SHA-512" (Drepper), the SHA-256 test table; where the input salt
    # is longer than 16 characters or rounds below 1000, the string crypt(3) outputs.
    ("Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "sha256_crypt"),
    (
        "Hello world!",
        "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
        "sha256_crypt",
    ),
    (
        "This is just a test",
        "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
        "sha256_crypt",
    ),
    (
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
        "sha256_crypt",
    ),
    (
        "we have a short salt string but not a short password",
        "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
        "sha256_crypt",
    ),
    (
        "a short string",
        "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD",
        "sha256_crypt",
    ),
    (
        "the minimum number is still observed",
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
        "sha256_crypt",
    ),
    # argon2-cffi's tests/test_low_level.py, made with the Argon2 reference CLI (password
    # "password", salt "somesalt", 64 MiB, 2 passes, 4 lanes), and its version-less v1.0 hash.
    (
        "password",
        "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4",
        "argon2",
    ),
    (
        "password",
        "$argon2d$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$cZn5d+rFh+ZfuRhm2iGUGgcrW5YLeM6q7L3vBsdmFA0",
        "argon2",
    ),
    (
        "password",
        "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "argon2",
    ),
    (
        "password",
        "$argon2i$m=65536,t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY",
        "argon2",
    ),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password, stored) == Verification(True, scheme, "ok")


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_reject_a_wrong_password(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password + "x", stored) == Verification(False, scheme, "mismatch")
    assert verify_password(password.swapcase(), stored) == Verification(False, scheme, "mismatch")


def test_hashes_of_the_empty_password_still_refuse_it() -> None:
    # JtR and passlib: md5crypt of "".
    for stored in ["$1$Eu.GHtia$CFkL/nE1BYTlEPiVx1VWX0", "$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o."]:
        assert passlib_hash.md5_crypt.verify("", stored)
        assert verify_password("", stored) == Verification(False, "md5_crypt", "empty_password")


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
    variant=st.sampled_from([argon2_low_level.Type.I, argon2_low_level.Type.D, argon2_low_level.Type.ID]),
    memory=st.integers(min_value=8, max_value=256),
    time_cost=st.integers(min_value=1, max_value=3),
    salt=st.binary(min_size=8, max_size=24),
)
def test_argon2_agrees_with_argon2_cffi(
    password: str, variant: argon2_low_level.Type, memory: int, time_cost: int, salt: bytes
) -> None:
    stored = argon2_low_level.hash_secret(password.encode(), salt, time_cost, memory, 1, 16, variant).decode()
    assert verify_password(password, stored) == Verification(True, "argon2", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_rounds_and_memory_above_the_ceilings_are_refused_without_hashing() -> None:
    sha256 = KNOWN_ANSWERS[9][1].replace("$5$", f"$5$rounds={Sha256Crypt.max_rounds + 1}$")  # type: ignore[operator]
    assert verify_password("Hello world!", sha256) == Verification(
        False, "sha256_crypt", "unsupported_scheme"
    )
    argon2 = KNOWN_ANSWERS[-2][1]
    for too_costly in [
        argon2.replace("m=65536", f"m={Argon2.max_memory_kib + 8}"),
        argon2.replace("t=2", f"t={Argon2.max_work_kib // 65536 + 1}"),
        argon2.replace("p=4", f"p={Argon2.max_parallelism + 1}"),
        argon2.replace("m=65536,t=2", "m=4294967295,t=4294967295"),
    ]:
        assert verify_password("password", too_costly) == Verification(False, "argon2", "unsupported_scheme")


MD5 = "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1"
SHA256 = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
ARGON2 = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("$1$", "md5_crypt"),
        ("$1$dXc3I7Rw", "md5_crypt"),
        ("$1$dXc3I7Rw$", "md5_crypt"),
        (MD5[:-1], "md5_crypt"),
        (MD5 + "1", "md5_crypt"),
        (MD5 + "\n", "md5_crypt"),
        (MD5 + "$", "md5_crypt"),  # passlib: too many fields
        ("$1$dXc3I7Rw9$ctlgjDdWJLMT.qwHsWhXR1", "md5_crypt"),  # a 9-character salt
        ("$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o!", "md5_crypt"),  # passlib's malformed vector
        ("$1$dXc3:7Rw$ctlgjDdWJLMT.qwHsWhXR1", "md5_crypt"),
        ("$apr1$r31.....$HqJZimcKQFAMYayBlzkrA!", "apr1"),  # passlib's malformed vector
        ("$apr1$r31.....$HqJZimcKQFAMYayBlzkrA", "apr1"),
        ("$apr1$", "apr1"),
        ("$5$", "sha256_crypt"),
        (SHA256[:-1], "sha256_crypt"),
        (SHA256 + "x", "sha256_crypt"),
        (SHA256.replace("$5$", "$5$rounds=999$"), "sha256_crypt"),
        (SHA256.replace("$5$", "$5$rounds=05000$"), "sha256_crypt"),
        (SHA256.replace("$5$", "$5$rounds=1000000000$"), "sha256_crypt"),
        (SHA256.replace("saltstring", "saltstringsaltstr"), "sha256_crypt"),
        (SHA256.replace("saltstring", "salté"), "sha256_crypt"),
        (ARGON2[:-1], "argon2"),  # the C decoder refuses a truncated digest
        (ARGON2 + "=", "argon2"),
        (ARGON2.replace("c29tZXNhbHQ", "c29tZXNhbHQ="), "argon2"),  # padding is not PHC
        (ARGON2.replace("m=65536", "m=065536"), "argon2"),  # the C decoder refuses leading zeros
        (ARGON2.replace("m=65536", "m=31"), "argon2"),  # below 8 KiB per lane
        (ARGON2.replace("t=2", "t=0"), "argon2"),
        (ARGON2.replace("p=4", "p=0"), "argon2"),
        (ARGON2.replace("p=4", "p=4,keyid=abc"), "argon2"),
        (ARGON2.replace("v=19", "v=20"), "argon2"),
        (ARGON2.replace("GpZ3", "GpZ!"), "argon2"),
        (ARGON2.replace("c29tZXNhbHQ", "c29tZQ"), "argon2"),  # a 5-byte salt: below Argon2's 8
        ("$argon2id$", "argon2"),
        ("$argon2i$v=19$m=65536,t=2,p=4", "argon2"),
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str, scheme: str) -> None:
    assert verify_password("password", stored) == Verification(False, scheme, "malformed_hash")


def test_the_variant_and_case_are_part_of_the_format() -> None:
    # The same digest under another variant is a different hash, not a malformed one.
    assert verify_password("password", ARGON2.replace("$argon2id$", "$argon2i$")).reason == "mismatch"
    assert verify_password("password", ARGON2.replace("$argon2id$", "$argon2ID$")).reason == "unknown_format"
    assert verify_password("myPassword", "$1$r31.....$HqJZimcKQFAMYayBlzkrA/").reason == "mismatch"


def test_passwords_over_4096_characters_never_match() -> None:
    """libpass refuses longer secrets; crypt(3) implementations refuse or never see them either."""
    password = "a" * 4097
    stored = passlib_hash.md5_crypt.using(salt="saltsalt").hash("a" * 10)
    assert verify_password(password, stored) == Verification(False, "md5_crypt", "mismatch")
