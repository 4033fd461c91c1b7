"""WordPress 6.8+, Drupal 7, phpBB 3, Joomla and Moodle formats.

Published vectors where the projects or crackers publish them; otherwise vectors derived from the
projects' own code, transcribed in references.py.
"""

from __future__ import annotations

import hashlib

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from passlib import hash as passlib_hash  # type: ignore[import-untyped]

from accounts.hashers import HashContext, Verification, identify_scheme, verify_password
from accounts.hashers.schemes import Drupal7
from tests.accounts.hashers import references as ref

utf8 = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)
H64 = ref.ITOA64


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# --- WordPress 6.8+ -----------------------------------------------------------------------------

WORDPRESS = [
    # WordPress's own tests hash at run time; these were made by PHP's password_hash() with
    # WordPress 6.8's construction and checked with PHP's password_verify(), in two public
    # projects (a WordPress-on-PHP-WASM build script's pinned admin hash, and a Java service's
    # migration test).
    ("admin", "$wp$2y$10$Q1xinFjrZeLWJBvxviIL6u834Fu.evIEFHAUVisQ5O.w9Dm0sMdES"),
    ("BigBike@2026", "$wp$2y$10$qeleDSuDaeZO5fBsEqFReeWdlqaDnBDBzB16hFgsFnhN9qFBIihvm"),
    # wp_hash_password() transcribed (references.wordpress_hash), cost 4.
    ("lètmein", ref.wordpress_hash("lètmein", b"$2b$04$abcdefghijklmnopqrstuu")),
]


@pytest.mark.parametrize(("password", "stored"), WORDPRESS)
def test_wordpress_known_answers(password: str, stored: str) -> None:
    assert verify_password(password, stored) == Verification(True, "wordpress_bcrypt", "ok")
    assert verify_password(password + "x", stored) == Verification(False, "wordpress_bcrypt", "mismatch")
    assert verify_password(password.upper(), stored).reason == "mismatch"


@pytest.mark.parametrize(
    ("typed", "hashed"),
    # WordPress's tests/phpunit/tests/auth.php, data_passwords_with_whitespace and
    # data_passwords_for_trimming: what wp_hash_password() got, and what the user types later.
    [
        (" pass with leading whitespace", "pass with leading whitespace"),
        ("pass with trailing whitespace ", "pass with trailing whitespace"),
        (" pass with whitespace ", "pass with whitespace"),
        ("pass with new line \n", "pass with new line"),
        ("pass with vertical tab o_O\x0b", "pass with vertical tab o_O"),
        ("    a password with multiple leading spaces", "a password with multiple leading spaces"),
        ("\t\r\npassword\r\n", "password"),
    ],
)
def test_wordpress_trims_as_php_trim_does(typed: str, hashed: str) -> None:
    stored = ref.wordpress_hash(hashed, b"$2b$04$abcdefghijklmnopqrstuu")
    assert ref.wordpress_hash(typed, b"$2b$04$abcdefghijklmnopqrstuu") == stored  # wp_hash_password trims
    assert verify_password(typed, stored).ok
    assert verify_password(hashed, stored).ok


def test_wordpress_trims_only_phps_characters() -> None:
    stored = ref.wordpress_hash("password", b"$2b$04$abcdefghijklmnopqrstuu")
    for untrimmed in ["\u00a0password", "password\u2003", "pass word", "\x0cpassword"]:
        assert verify_password(untrimmed, stored).reason == "mismatch", repr(untrimmed)
    for blank in [" ", "\t\n", "\x0b"]:
        assert verify_password(blank, stored) == Verification(False, "wordpress_bcrypt", "empty_password")


def test_wordpress_prehash_lifts_the_72_byte_limit() -> None:
    password = "0123456789" * 10
    stored = ref.wordpress_hash(password, b"$2b$04$abcdefghijklmnopqrstuu")
    assert verify_password(password, stored).ok
    assert verify_password(password[:72], stored).reason == "mismatch"


def test_wordpress_refuses_passwords_over_4096_bytes() -> None:
    password = "é" * 2049  # 4098 bytes
    stored = ref.wordpress_hash(password, b"$2b$04$abcdefghijklmnopqrstuu")
    assert verify_password(password, stored) == Verification(False, "wordpress_bcrypt", "mismatch")


def test_trim_whitespace_context_trims_other_schemes_of_a_wordpress_table() -> None:
    phpass = passlib_hash.phpass.using(rounds=8).hash("password")
    md5_row = md5("password")
    wordpress = HashContext(trim_whitespace=True)
    for stored in [phpass, md5_row]:
        assert verify_password(" password\n", stored, context=wordpress).ok
        assert verify_password(" password\n", stored).reason == "mismatch"
        assert verify_password(" \t", stored, context=wordpress).reason == "empty_password"


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("$wp$", "malformed_hash"),
        ("$wp$2y$04$", "malformed_hash"),
        (WORDPRESS[2][1][:-1], "malformed_hash"),
        (WORDPRESS[2][1] + "\n", "malformed_hash"),
        ("$wp" + WORDPRESS[2][1], "malformed_hash"),
        (WORDPRESS[2][1].replace("$wp$2y$", "$wp$2x$"), "unsupported_scheme"),
        (WORDPRESS[2][1].replace("$04$", "$17$"), "unsupported_scheme"),
        (WORDPRESS[2][1].replace("$04$", "$03$"), "malformed_hash"),
    ],
)
def test_wordpress_malformed_and_refused(stored: str, reason: str) -> None:
    assert verify_password("lètmein", stored) == Verification(False, "wordpress_bcrypt", reason)  # type: ignore[arg-type]


# --- Drupal 7 -----------------------------------------------------------------------------------

DRUPAL7 = [
    # John the Ripper's drupal7_fmt_plug.c test vectors (2^14 iterations).
    ("virtualabc", "$S$CwkjgAKeSx2imSiN3SyBEg8e0sgE2QOx4a/VIfCHN0BZUNAWCr1X"),
    ("password", "$S$CFURCPa.k6FAEbJPgejaW4nijv7rYgGc4dUJtChQtV4KLJTPTC/u"),
    ("NEW_TEMP_PASSWORD", "$S$C6x2r.aW5Nkg7st6/u.IKWjTerHXscjPtu4spwhCVZlP89UKcbb/"),
    # hashcat's example hash for mode 7900 (Drupal7).
    ("hashcat", "$S$C33783772bRXEx1aCsvY.dqgaaSu76XmVlKrW9Qu8IQlvxHlmzLf"),
]


@pytest.mark.parametrize(("password", "stored"), DRUPAL7)
def test_drupal7_known_answers(password: str, stored: str) -> None:
    assert ref.drupal7_password_crypt(password, stored) == stored  # the transcription agrees
    assert verify_password(password, stored) == Verification(True, "drupal7", "ok")
    assert verify_password(password + " ", stored) == Verification(False, "drupal7", "mismatch")


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=utf8, log2=st.integers(7, 9), salt=st.text(H64, min_size=8, max_size=8), upgraded=st.booleans()
)
def test_drupal7_agrees_with_password_inc(password: str, log2: int, salt: str, upgraded: bool) -> None:
    setting = "$S$" + H64[log2] + salt
    if upgraded:
        stored, scheme = ref.drupal7_upgraded(password, setting), "drupal7_upgraded_md5"
    else:
        stored, scheme = ref.drupal7_password_crypt(password, setting), "drupal7"
    assert verify_password(password, stored) == Verification(True, scheme, "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_drupal7_upgraded_md5_accepts_the_password_not_its_md5() -> None:
    stored = ref.drupal7_upgraded("password", "$S$5saltsalt")
    assert verify_password("password", stored).ok
    assert verify_password(md5("password"), stored).reason == "mismatch"
    # The $S$ part is the hash of the md5 hex: the plain $S$ scheme accepts that hex, as Drupal would.
    assert verify_password(md5("password"), stored[1:]).ok


def test_drupal7_checks_imported_phpass_hashes_when_named() -> None:
    phpass_row = "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"  # phpass test.php: "test12345"
    assert verify_password("test12345", phpass_row, scheme="drupal7") == Verification(True, "drupal7", "ok")
    assert verify_password("test12345", phpass_row).scheme == "phpass"
    upgraded_phpass = "U" + passlib_hash.phpass.using(salt="saltsalt", rounds=8).hash(md5("test12345"))
    assert identify_scheme(upgraded_phpass) == "drupal7_upgraded_md5"
    assert verify_password("test12345", upgraded_phpass).ok


def test_drupal7_refuses_passwords_over_512_bytes() -> None:
    password = "a" * 513
    stored = ref.drupal7_password_crypt(password, "$S$5saltsalt")
    assert verify_password(password, stored) == Verification(False, "drupal7", "mismatch")
    assert verify_password("a" * 512, ref.drupal7_password_crypt("a" * 512, "$S$5saltsalt")).ok


def test_drupal7_rounds_above_the_ceiling_are_refused_without_hashing() -> None:
    stored = "$S$" + H64[Drupal7.max_log2_rounds + 1] + DRUPAL7[0][1][4:]
    assert verify_password("virtualabc", stored) == Verification(False, "drupal7", "unsupported_scheme")


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("$S$", "drupal7"),
        ("$S$CwkjgAKeS", "drupal7"),
        (DRUPAL7[0][1][:-1], "drupal7"),
        (DRUPAL7[0][1] + "X", "drupal7"),
        (DRUPAL7[0][1] + "\n", "drupal7"),
        ("$S$4" + DRUPAL7[0][1][4:], "drupal7"),  # 2^6: below DRUPAL_MIN_HASH_COUNT
        ("$S$z" + DRUPAL7[0][1][4:], "drupal7"),  # 2^63: above DRUPAL_MAX_HASH_COUNT
        (DRUPAL7[0][1][:20] + "!" + DRUPAL7[0][1][21:], "drupal7"),
        ("U$S$", "drupal7_upgraded_md5"),
        ("U$S$5saltsalt", "drupal7_upgraded_md5"),
        ("U$P$5saltsalt", "drupal7_upgraded_md5"),
        ("U" + DRUPAL7[0][1][:-1], "drupal7_upgraded_md5"),
    ],
)
def test_drupal7_malformed_hashes(stored: str, scheme: str) -> None:
    assert verify_password("virtualabc", stored) == Verification(False, scheme, "malformed_hash")


# --- phpBB 3 ------------------------------------------------------------------------------------


def test_phpbb3_converted_phpbb2_md5_is_identified_and_verified() -> None:
    """passwords_convert_p1 prefixes phpBB 2's md5(password) with $CP$."""
    stored = "$CP$" + md5("lètmein")
    assert identify_scheme(stored) == "phpbb3"
    assert verify_password("lètmein", stored) == Verification(True, "phpbb3", "ok")
    assert verify_password("letmein", stored) == Verification(False, "phpbb3", "mismatch")


def test_phpbb3_converted_salted_md5_over_phpbb2_md5() -> None:
    """md5_phpbb2's second form: a 34-character $H$ over phpBB 2's md5 hex."""
    stored = "$CP$" + passlib_hash.phpass.using(ident="H", salt="saltsalt", rounds=11).hash(md5("lètmein"))
    assert verify_password("lètmein", stored) == Verification(True, "phpbb3", "ok")
    assert verify_password(md5("lètmein"), stored).reason == "mismatch"


def test_phpbb3_latin1_phpbb2_passwords_are_not_re_encoded() -> None:
    """phpBB also tries md5(utf8_to_cp1252(password)); DECISIONS.md forbids re-encoding."""
    stored = "$CP$" + hashlib.md5("lètmein".encode("cp1252")).hexdigest()
    assert verify_password("lètmein", stored) == Verification(False, "phpbb3", "mismatch")


@pytest.mark.parametrize(
    ("password", "stored", "identified_as"),
    [
        # John the Ripper 1.7.9 phpass vectors for phpBB3's $H$.
        ("test1", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00", "phpass"),
        ("JohnRipper", "$H$712345678WhEyvy1YWzT4647jzeOmo0", "phpass"),
        # PHP manual, password_verify() example: phpBB 3.1+'s bcrypt_2y driver is password_hash().
        ("rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", "bcrypt"),
        # argon2-cffi's test vectors: phpBB 3.3's argon2i/argon2id drivers are password_hash().
        (
            "password",
            "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4",
            "argon2",
        ),
        # The phpBB 3.0 installer's admin: plain md5 (salted_md5::check for a non-34-character hash).
        ("password", "5f4dcc3b5aa765d61d8327deb882cf99", "md5_hex"),
    ],
)
def test_phpbb3_checks_every_stored_form_when_named(password: str, stored: str, identified_as: str) -> None:
    assert identify_scheme(stored) == identified_as
    assert verify_password(password, stored, scheme="phpbb3") == Verification(True, "phpbb3", "ok")
    assert verify_password(password + "x", stored, scheme="phpbb3") == Verification(
        False, "phpbb3", "mismatch"
    )


@pytest.mark.parametrize(
    "stored",
    [
        "$CP$",
        "$CP$5f4dcc3b5aa765d61d8327deb882cf9",
        "$CP$5F4DCC3B5AA765D61D8327DEB882CF99",  # PHP's md5() is lower case
        "$CP$$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ0",
        "$2y\\H$10\\9aaaaa$abc",  # a combined hash: not supported
        "$bcrypt$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",  # phpBB has no $bcrypt$
        "$wcf2$abc",
        "$argon2d$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$cZn5d+rFh+ZfuRhm2iGUGgcrW5YLeM6q7L3vBsdmFA0",  # not a phpBB driver
        "plaintext",
    ],
)
def test_phpbb3_malformed_hashes(stored: str) -> None:
    assert verify_password("password", stored, scheme="phpbb3") == Verification(
        False, "phpbb3", "malformed_hash"
    )


def test_phpbb3_refuses_passwords_over_4096_bytes() -> None:
    assert verify_password("a" * 4097, "$CP$" + md5("a" * 4097)) == Verification(False, "phpbb3", "mismatch")


# --- Joomla -------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=utf8,
    salt=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=32),
)
def test_joomla_agrees_with_get_crypted_password(password: str, salt: str) -> None:
    stored = ref.joomla_md5(password, salt)
    assert identify_scheme(stored) == "joomla_md5"
    assert verify_password(password, stored) == Verification(True, "joomla_md5", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


def test_joomla_unsalted_md5_is_accepted_when_named() -> None:
    assert verify_password("password", md5("password"), scheme="joomla_md5") == Verification(
        True, "joomla_md5", "ok"
    )


@pytest.mark.parametrize(
    "stored",
    [
        "5f4dcc3b5aa765d61d8327deb882cf99:",
        "5f4dcc3b5aa765d61d8327deb882cf99:salt:extra",
        "5F4DCC3B5AA765D61D8327DEB882CF99:salt",  # PHP's md5() is lower case
        "5f4dcc3b5aa765d61d8327deb882cf9:salt",
        ":salt",
        "salt",
    ],
)
def test_joomla_malformed_hashes(stored: str) -> None:
    assert verify_password("password", stored, scheme="joomla_md5") == Verification(
        False, "joomla_md5", "malformed_hash"
    )


# --- Moodle -------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, database=None)
@given(password=utf8, site_salt=st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_moodle_agrees_with_hash_internal_user_password(password: str, site_salt: str) -> None:
    stored = ref.moodle_md5(password, site_salt)
    context = HashContext(site_salt=site_salt)
    assert identify_scheme(stored, context=context) == "moodle_md5"
    assert verify_password(password, stored, context=context) == Verification(True, "moodle_md5", "ok")
    # Not password + "x": with site salt "x" that is Moodle's unsalted form (see below).
    assert verify_password(password + site_salt + "!", stored, context=context).reason == "mismatch"


def test_moodle_accepts_the_password_followed_by_the_site_salt_as_moodle_does() -> None:
    """md5(password . salt) == md5((password . salt)), Moodle's unsalted branch: a quirk, not a hole
    (whoever types it knows the password)."""
    context = HashContext(site_salt="pepper")
    stored = ref.moodle_md5("secret", "pepper")
    assert verify_password("secretpepper", stored, context=context).ok


def test_moodle_also_accepts_md5_without_the_site_salt_as_moodle_does() -> None:
    context = HashContext(site_salt="Mg0u2)qn=#Ab.3n,Kf!Ty")
    assert verify_password("password", md5("password"), context=context) == Verification(
        True, "moodle_md5", "ok"
    )
    assert verify_password("password", md5("password"), scheme="moodle_md5").ok  # no site salt configured
    assert (
        verify_password("password", ref.moodle_md5("password", "x"), scheme="moodle_md5").reason == "mismatch"
    )


def test_moodle_magic_quotes_variant_is_not_tried() -> None:
    """Moodle also tries md5(addslashes(password) . salt): that re-encodes what the user typed."""
    context = HashContext(site_salt="salt")
    stored = ref.moodle_md5("O\\'Brien", "salt")
    assert verify_password("O'Brien", stored, context=context) == Verification(
        False, "moodle_md5", "mismatch"
    )


@pytest.mark.parametrize(
    "stored", ["5F4DCC3B5AA765D61D8327DEB882CF99", "5f4dcc3b5aa765d61d8327deb882cf9", "x" * 32]
)
def test_moodle_malformed_hashes(stored: str) -> None:
    result = verify_password("password", stored, scheme="moodle_md5", context=HashContext(site_salt="s"))
    assert result == Verification(False, "moodle_md5", "malformed_hash")


def test_moodle_site_salt_that_cannot_be_encoded_is_a_broken_configuration() -> None:
    result = verify_password(
        "password", md5("password"), scheme="moodle_md5", context=HashContext(site_salt="\udc80")
    )
    assert result == Verification(False, "moodle_md5", "malformed_hash")


def test_bcrypt_is_what_later_versions_of_these_applications_store() -> None:
    """Joomla 3.2+, Moodle 2.5+ and phpBB 3.1+ write PHP password_hash() bcrypt: the bcrypt scheme."""
    stored = bcrypt.hashpw(b"password", b"$2b$04$abcdefghijklmnopqrstuu").decode().replace("$2b$", "$2y$")
    assert verify_password("password", stored) == Verification(True, "bcrypt", "ok")
