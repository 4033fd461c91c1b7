"""RFC 2307 LDAP tags, {CRYPT}, OpenLDAP's PBKDF2 module and Atlassian's {PKCS5S2}."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from passlib import hash as passlib_hash  # type: ignore[import-untyped]

from accounts.hashers import Verification, identify_scheme, verify_password
from accounts.hashers.schemes import LdapPbkdf2Sha512
from tests.accounts.hashers import references as ref

UPASS_TABLE = "t\u00e1\u0411\u2113\u0259"
UPASS_WAV = "\u0399\u03c9\u03b1\u03bd\u03bd\u03b7\u03c2"

# passlib's test_handlers.py vectors (ldap_*, ldap_pbkdf2 wrappers, atlassian "generated using Jira").
KNOWN_ANSWERS = [
    ("helloworld", "{MD5}/F4DjTilcDIIVEHn/nAQsA==", "ldap_md5"),
    (UPASS_TABLE, "{MD5}BUc/ihn2aBXnN7MyZKDQsA==", "ldap_md5"),
    ("helloworld", "{SHA}at+xg6SiyUovktq1redipHiJpaE=", "ldap_sha"),
    (UPASS_TABLE, "{SHA}4FmyYo46Pi3glWed6YIsHRRm4PA=", "ldap_sha"),
    ("testing1234", "{SMD5}UjFY34os/pnZQ3oQOzjqGu4yeXE=", "ldap_smd5"),
    (UPASS_TABLE, "{SMD5}Z0ioJ58LlzUeRxm3K6JPGAvBGIM=", "ldap_smd5"),
    ("test", "{SMD5}LnuZPJhiaY95/4lmVFpg548xBsD4P4cw", "ldap_smd5"),  # 8-byte salt
    ("test", "{SMD5}XRlncfRzvGi0FDzgR98tUgBg7B3jXOs9p9S615qTkg==", "ldap_smd5"),  # 15-byte salt
    ("test", "{SMD5}FbAkzOMOxRbMp6Nn4hnZuel9j9Gas7a2lvI+x5hT6j0=", "ldap_smd5"),  # 16-byte salt
    ("testing123", "{SSHA}0c0blFTXXNuAMHECS4uxrj3ZieMoWImr", "ldap_ssha"),
    ("secret", "{SSHA}0H+zTv8o4MR4H43n03eCsvw1luG8LdB7", "ldap_ssha"),
    (UPASS_TABLE, "{SSHA}3yCSD1nLZXznra4N8XzZgAL+s1sQYsx5", "ldap_ssha"),
    ("test", "{SSHA}P90+qijSp8MJ1tN25j5o1PflUvlqjXHOGeOckw==", "ldap_ssha"),
    ("test", "{SSHA}/ZMF5KymNM+uEOjW+9STKlfCFj51bg3BmBNCiPHeW2ttbU0=", "ldap_ssha"),
    ("test", "{SSHA}Pfx6Vf48AT9x3FVv8znbo8WQkEVSipHSWovxXmvNWUvp/d/7", "ldap_ssha"),
    ("test", "{CRYPT}$1$SuMrG47N$ymvzYjr7QcEQjaK5m1PGx1", "ldap_crypt"),
    (UPASS_TABLE, "{CRYPT}$1$d6/Ky1lU$/xpf8m7ftmWLF.TjHCqel0", "ldap_crypt"),
    ("password", "{PBKDF2}1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI", "ldap_pbkdf2_sha1"),
    (
        "password",
        "{PBKDF2-SHA256}1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
        "ldap_pbkdf2_sha256",
    ),
    (
        "password",
        "{PBKDF2-SHA512}1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww",
        "ldap_pbkdf2_sha512",
    ),
    (
        "admin",
        "{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p",
        "atlassian_pbkdf2",
    ),
    (
        UPASS_WAV,
        "{PKCS5S2}cE9Yq6Am5tQGdHSHhky2XLeOnURwzaLBG2sur7FHKpvy2u0qDn6GcVGRjlmJoIUy",
        "atlassian_pbkdf2",
    ),
    # Drepper's SHA-512 table behind OpenLDAP's {CRYPT} (slappasswd -h {CRYPT} -c '$6$%.16s').
    (
        "Hello world!",
        "{CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        "ldap_crypt",
    ),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(password: str, stored: str, scheme: str) -> None:
    assert verify_password(password, stored) == Verification(True, scheme, "ok")
    assert verify_password(password + "x", stored) == Verification(False, scheme, "mismatch")


@pytest.mark.parametrize(
    ("password", "stored", "scheme"), [k for k in KNOWN_ANSWERS if k[2] != "atlassian_pbkdf2"]
)
def test_ldap_tags_match_in_any_case(password: str, stored: str, scheme: str) -> None:
    """OpenLDAP's lutil_passwd compares scheme names case-insensitively."""
    tag, body = stored.split("}", 1)
    for spelled in [tag.lower(), tag.title(), tag.swapcase()]:
        assert identify_scheme(spelled + "}" + body) == scheme
        assert verify_password(password, spelled + "}" + body) == Verification(True, scheme, "ok")


def test_atlassian_tag_is_case_sensitive() -> None:
    stored = KNOWN_ANSWERS[-3][1].replace("{PKCS5S2}", "{pkcs5s2}")
    assert verify_password("admin", stored).reason == "unknown_format"


@pytest.mark.parametrize("salt", [b"s", b"salt", b"saltsalt", bytes(range(16)), bytes(64)])
@pytest.mark.parametrize(
    ("tag", "digest", "handler"),
    [
        ("{SSHA}", "sha1", passlib_hash.ldap_salted_sha1),
        ("{SSHA256}", "sha256", passlib_hash.ldap_salted_sha256),
        ("{SSHA512}", "sha512", passlib_hash.ldap_salted_sha512),
        ("{SMD5}", "md5", passlib_hash.ldap_salted_md5),
    ],
)
def test_salted_tags_agree_with_the_reference_and_passlib(
    tag: str, digest: str, handler: object, salt: bytes
) -> None:
    stored = ref.ldap_salted(tag, digest, "lètmein", salt)
    assert verify_password("lètmein", stored).ok
    assert verify_password("letmein", stored).reason == "mismatch"
    if 4 <= len(salt) <= 16:  # passlib's accepted salt sizes
        assert handler.verify("lètmein", stored)  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
    variant=st.sampled_from(
        [
            ("{PBKDF2}", "sha1", passlib_hash.ldap_pbkdf2_sha1),
            ("{PBKDF2-SHA1}", "sha1", None),
            ("{PBKDF2-SHA256}", "sha256", passlib_hash.ldap_pbkdf2_sha256),
            ("{PBKDF2-SHA512}", "sha512", passlib_hash.ldap_pbkdf2_sha512),
        ]
    ),
    iterations=st.integers(1, 100),
    salt=st.binary(min_size=1, max_size=32),
)
def test_pbkdf2_agrees_with_openldap_format_and_passlib(
    password: str, variant: tuple[str, str, object], iterations: int, salt: bytes
) -> None:
    tag, digest, handler = variant
    stored = ref.ldap_pbkdf2(tag, digest, password, iterations, salt)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"
    if handler is not None:
        assert handler.verify(password, stored)  # type: ignore[attr-defined]


@settings(max_examples=10, deadline=None, database=None)
@given(password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30))
def test_atlassian_agrees_with_passlib(password: str) -> None:
    stored = passlib_hash.atlassian_pbkdf2_sha1.hash(password)
    assert stored == ref.atlassian(password, passlib_hash.atlassian_pbkdf2_sha1.from_string(stored).salt)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_crypt_wrapping_a_locked_or_unsupported_value() -> None:
    assert verify_password("password", "{CRYPT}!$6$saltstring$abc") == Verification(
        False, "ldap_crypt", "no_hash"
    )
    assert verify_password("password", "{CRYPT}*") == Verification(False, "ldap_crypt", "no_hash")
    assert verify_password("password", "{CRYPT}abMbH7WsHr7wQ") == Verification(
        False, "ldap_crypt", "unsupported_scheme"
    )
    assert verify_password("password", "{CRYPT}_J9..CCCCXBrJUJV154M") == Verification(
        False, "ldap_crypt", "unsupported_scheme"
    )
    bcrypt_2x = "{CRYPT}$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"
    assert verify_password("password", bcrypt_2x) == Verification(False, "ldap_crypt", "unsupported_scheme")


def test_pbkdf2_iterations_above_the_budget_are_refused_without_hashing() -> None:
    stored = (
        f"{{PBKDF2-SHA512}}{LdapPbkdf2Sha512.max_work}$RHY0Fr3IDMSVO/RSZyb5ow$"
        + KNOWN_ANSWERS[19][1].rsplit("$", 1)[1]
    )
    assert verify_password("password", stored) == Verification(
        False, "ldap_pbkdf2_sha512", "unsupported_scheme"
    )


SSHA = "{SSHA}0c0blFTXXNuAMHECS4uxrj3ZieMoWImr"
PBKDF2 = "{PBKDF2-SHA256}1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"
ATLASSIAN = "{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p"


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("{SSHA}", "ldap_ssha"),
        ("{SSHA}P90+qijSp8MJ1tN25j5o1PflUvlqjXHOGeOck", "ldap_ssha"),  # passlib's malformed vectors
        ("{SSHA}P90+qijSp8MJ1tN25j5o1PflUvlqjXHOGeOckw=", "ldap_ssha"),
        ("{SSHA}P90+qijSp8MJ1tN25j5o1Pf=UvlqjXHOGeOckw==", "ldap_ssha"),
        ("{SSHA}P90+qijSp8MJ1tN25j5o1PflUvlqjXHOGeOck===", "ldap_ssha"),
        ("{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "ldap_ssha"),  # a bare SHA-1: no salt
        ("{SSHA}" + "A" * 116, "ldap_ssha"),  # a 67-byte salt: beyond the 64 accepted
        (SSHA + "\n", "ldap_ssha"),
        ("{SMD5}LnuZPJhiaY95/4lmVFpg548xBsD4P4c", "ldap_smd5"),
        ("{SMD5}LnuZPJhiaY95/4lmV=pg548xBsD4P4cw", "ldap_smd5"),
        ("{SHA}at+xg6SiyUovktq1redipHiJpaE", "ldap_sha"),
        ("{SHA}0c0blFTXXNuAMHECS4uxrj3ZieMoWImr", "ldap_sha"),  # salted: too long for {SHA}
        ("{MD5}/F4DjTilcDIIVEHn/nAQsA=", "ldap_md5"),
        ("{CRYPT}", "ldap_crypt"),
        ("{CRYPT}$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o!", "ldap_crypt"),  # passlib's malformed vector
        ("{CRYPT}$9$x", "ldap_crypt"),
        ("{CRYPT}plaintext", "ldap_crypt"),
        ("{PBKDF2-SHA256}", "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("1212$", "01212$"), "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("1212$", "0$"), "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("1212$", "$"), "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("4vjV83LKPjQzk31VI4E0Vw", ""), "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("4vjV83LKPjQzk31VI4E0Vw", "4vjV83LKPjQzk31VI4E0Vw=="), "ldap_pbkdf2_sha256"),
        (PBKDF2.replace(".fJPeq1h", "+fJPeq1h"), "ldap_pbkdf2_sha256"),  # '+' is not adapted base64
        (PBKDF2[:-1], "ldap_pbkdf2_sha256"),  # a 31.x-byte key
        (PBKDF2 + "$", "ldap_pbkdf2_sha256"),
        (PBKDF2.replace("{PBKDF2-SHA256}", "{PBKDF2-SHA512}"), "ldap_pbkdf2_sha512"),  # key size
        ("{PKCS5S2}", "atlassian_pbkdf2"),
        ("{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy!0IPksHChwoTAVYFrhsgoq8/p", "atlassian_pbkdf2"),
        ("{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/", "atlassian_pbkdf2"),
        ("{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/=", "atlassian_pbkdf2"),
        (ATLASSIAN + "AAAA", "atlassian_pbkdf2"),
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str, scheme: str) -> None:
    assert verify_password("testing123", stored) == Verification(False, scheme, "malformed_hash")


def test_short_salts_are_accepted_as_openldap_does() -> None:
    """passlib refuses this 3-byte salt as malformed; OpenLDAP's chk_ssha1 accepts any salt of a byte or more."""
    stored = "{SSHA}ZQK3Yvtvl6wtIRoISgMGPkcWU7Nfq5U="
    assert verify_password("testing123", stored) == Verification(False, "ldap_ssha", "mismatch")
    assert verify_password("x", ref.ldap_salted("{SSHA}", "sha1", "x", b"!")).ok
