"""Identification, refusals before hashing, the registry's self-checks, and the shape of the result."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable

import bcrypt
import pytest
from argon2 import low_level as argon2_low_level
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
    ScryptPasswordHasher,
)
from passlib import hash as passlib_hash  # type: ignore[import-untyped]

from accounts.hashers import (
    HashContext,
    LegacyScheme,
    Verification,
    describe_scheme,
    identify_scheme,
    known_schemes,
    verify_password,
)
from accounts.hashers import registry as registry_module
from accounts.hashers import schemes as schemes_module
from accounts.hashers.base import Outcome
from tests.accounts.hashers import references as ref
from tests.accounts.hashers.references import CHEAP, PASSWORD

MARKERS = [None, "", " ", "!", "!!", "*", "*LK*", "x", "not cached", "!$6$saltstring$abc", "*NP*"]
SCHEMES = sorted(CHEAP)


def cheap(scheme: str) -> tuple[str, HashContext]:
    stored, context = CHEAP[scheme]
    return stored, HashContext(**context)


def _django_argon2() -> str:
    hasher = Argon2PasswordHasher()
    hasher.time_cost, hasher.memory_cost, hasher.parallelism = 1, 64, 1
    return hasher.encode(PASSWORD, "saltsaltsaltsalt")


BCRYPT_SALT = b"$2b$04$abcdefghijklmnopqrstuu"
#: How each CHEAP literal is derived without the code under test.
DERIVATIONS: dict[str, Callable[[], str]] = {
    "apr1": lambda: passlib_hash.apr_md5_crypt.using(salt="saltsalt").hash(PASSWORD),
    "argon2": lambda: argon2_low_level.hash_secret(
        PASSWORD.encode(), b"saltsaltsaltsalt", 1, 64, 1, 16, argon2_low_level.Type.ID
    ).decode(),
    "aspnet_identity_v2": lambda: ref.aspnet_v2(PASSWORD, bytes(range(16))),
    "aspnet_identity_v3": lambda: ref.aspnet_v3(PASSWORD, 1, 1, bytes(range(16)), 32),
    "atlassian_pbkdf2": lambda: ref.atlassian(PASSWORD, b"0123456789abcdef"),
    "bcrypt": lambda: bcrypt.hashpw(PASSWORD.encode(), BCRYPT_SALT).decode(),
    "django_argon2": _django_argon2,
    "django_bcrypt_sha256": lambda: BCryptSHA256PasswordHasher().encode(PASSWORD, BCRYPT_SALT),
    "django_pbkdf2_sha1": lambda: PBKDF2SHA1PasswordHasher().encode(PASSWORD, "salt", 1),
    "django_pbkdf2_sha256": lambda: PBKDF2PasswordHasher().encode(PASSWORD, "salt", 1),
    "django_scrypt": lambda: ScryptPasswordHasher().encode(PASSWORD, "saltsalt", n=16, r=1, p=1),
    "drupal7": lambda: ref.drupal7_password_crypt(PASSWORD, "$S$5saltsalt"),
    "drupal7_upgraded_md5": lambda: ref.drupal7_upgraded(PASSWORD, "$S$5saltsalt"),
    "joomla_md5": lambda: ref.joomla_md5(PASSWORD, "saltsalt" * 4),
    "ldap_crypt": lambda: "{CRYPT}" + passlib_hash.md5_crypt.using(salt="saltsalt").hash(PASSWORD),
    "ldap_md5": lambda: passlib_hash.ldap_md5.hash(PASSWORD),
    "ldap_pbkdf2_sha1": lambda: ref.ldap_pbkdf2("{PBKDF2-SHA1}", "sha1", PASSWORD, 1, b"saltsaltsaltsalt"),
    "ldap_pbkdf2_sha256": lambda: ref.ldap_pbkdf2(
        "{PBKDF2-SHA256}", "sha256", PASSWORD, 1, b"saltsaltsaltsalt"
    ),
    "ldap_pbkdf2_sha512": lambda: ref.ldap_pbkdf2(
        "{PBKDF2-SHA512}", "sha512", PASSWORD, 1, b"saltsaltsaltsalt"
    ),
    "ldap_sha": lambda: passlib_hash.ldap_sha1.hash(PASSWORD),
    "ldap_smd5": lambda: ref.ldap_salted("{SMD5}", "md5", PASSWORD, b"salt"),
    "ldap_ssha": lambda: ref.ldap_salted("{SSHA}", "sha1", PASSWORD, b"salt"),
    "ldap_ssha256": lambda: ref.ldap_salted("{SSHA256}", "sha256", PASSWORD, b"saltsalt"),
    "ldap_ssha512": lambda: ref.ldap_salted("{SSHA512}", "sha512", PASSWORD, b"saltsalt"),
    "md5_crypt": lambda: passlib_hash.md5_crypt.using(salt="saltsalt").hash(PASSWORD),
    "md5_hex": lambda: hashlib.md5(PASSWORD.encode()).hexdigest(),
    "mediawiki_a": lambda: ":A:" + hashlib.md5(PASSWORD.encode()).hexdigest(),
    "mediawiki_b": lambda: ref.mediawiki_b(PASSWORD, "salt"),
    "mediawiki_pbkdf2": lambda: ref.mediawiki_pbkdf2(PASSWORD, "sha1", 1, 20, b"salt"),
    "moodle_md5": lambda: ref.moodle_md5(PASSWORD, "sitesalt"),
    "phpass": lambda: passlib_hash.phpass.using(salt="12345678", rounds=7).hash(PASSWORD),
    "phpbb3": lambda: "$CP$" + hashlib.md5(PASSWORD.encode()).hexdigest(),
    "sha1_hex": lambda: hashlib.sha1(PASSWORD.encode()).hexdigest(),
    "sha256_crypt": lambda: passlib_hash.sha256_crypt.using(salt="saltsalt", rounds=1000).hash(PASSWORD),
    "sha256_hex": lambda: hashlib.sha256(PASSWORD.encode()).hexdigest(),
    "sha512_crypt": lambda: passlib_hash.sha512_crypt.using(salt="saltsalt", rounds=1000).hash(PASSWORD),
    "sha512_hex": lambda: hashlib.sha512(PASSWORD.encode()).hexdigest(),
    "wordpress_bcrypt": lambda: ref.wordpress_hash(PASSWORD, BCRYPT_SALT),
}


def test_known_schemes_are_the_required_ones() -> None:
    assert known_schemes() == SCHEMES
    assert known_schemes() == sorted(known_schemes())


@pytest.mark.parametrize("scheme", SCHEMES)
def test_cheap_vectors_come_from_the_references(scheme: str) -> None:
    assert DERIVATIONS[scheme]() == CHEAP[scheme][0]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_cheap_vectors_verify_with_the_right_password_only(scheme: str) -> None:
    stored, context = cheap(scheme)
    assert verify_password(PASSWORD, stored, context=context) == Verification(True, scheme, "ok")
    assert verify_password("Password", stored, context=context) == Verification(False, scheme, "mismatch")
    assert verify_password(PASSWORD, stored, scheme=scheme, context=context).ok


@pytest.mark.parametrize("scheme", SCHEMES)
def test_cheap_vectors_are_identified_by_format(scheme: str) -> None:
    stored, context = cheap(scheme)
    assert identify_scheme(stored, context=context) == scheme


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("$2a$10$" + "a" * 53, "bcrypt"),
        ("$2b$10$" + "a" * 53, "bcrypt"),
        ("$2y$10$" + "a" * 53, "bcrypt"),
        ("$2x$10$" + "a" * 53, "bcrypt"),
        ("$2$10$", "bcrypt"),
        ("pbkdf2_sha256$1000000$salt$xx", "django_pbkdf2_sha256"),
        ("pbkdf2_sha1$10000$salt$xx", "django_pbkdf2_sha1"),
        ("$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "phpass"),
        ("$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00", "phpass"),
        ("$6$saltstring$truncated", "sha512_crypt"),
        ("$6$rounds=5000$salt$x", "sha512_crypt"),
        ("$1$saltsalt$hash", "md5_crypt"),
        ("$5$saltstring$hash", "sha256_crypt"),
        ("$apr1$salt$hash", "apr1"),
        ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "argon2"),
        ("$argon2i$", "argon2"),
        ("$argon2d$", "argon2"),
        ("argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA", "django_argon2"),
        ("bcrypt_sha256$$2b$12$" + "a" * 53, "django_bcrypt_sha256"),
        ("scrypt$16384$salt$8$1$xx", "django_scrypt"),
        ("$wp$2y$10$" + "a" * 53, "wordpress_bcrypt"),
        ("$S$Cxx", "drupal7"),
        ("U$S$Cxx", "drupal7_upgraded_md5"),
        ("U$P$Bxx", "drupal7_upgraded_md5"),
        ("$CP$5f4dcc3b5aa765d61d8327deb882cf99", "phpbb3"),
        ("5f4dcc3b5aa765d61d8327deb882cf99", "md5_hex"),
        ("5F4DCC3B5AA765D61D8327DEB882CF99", "md5_hex"),
        ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "sha1_hex"),
        ("a" * 64, "sha256_hex"),
        ("A" * 128, "sha512_hex"),
        ("5f4dcc3b5aa765d61d8327deb882cf99:abcdefghABCDEFGH0123456789abcdef", "joomla_md5"),
        (":pbkdf2:sha512:30000:64:salt:hash", "mediawiki_pbkdf2"),
        (":B:1234:5f4dcc3b5aa765d61d8327deb882cf99", "mediawiki_b"),
        (":A:5f4dcc3b5aa765d61d8327deb882cf99", "mediawiki_a"),
        ("{SSHA}abc", "ldap_ssha"),
        ("{ssha}abc", "ldap_ssha"),
        ("{SsHa256}abc", "ldap_ssha256"),
        ("{SSHA512}abc", "ldap_ssha512"),
        ("{SHA}abc", "ldap_sha"),
        ("{sha}abc", "ldap_sha"),
        ("{MD5}abc", "ldap_md5"),
        ("{SMD5}abc", "ldap_smd5"),
        ("{CRYPT}$6$x", "ldap_crypt"),
        ("{crypt}$6$x", "ldap_crypt"),
        ("{PBKDF2}1000$x$y", "ldap_pbkdf2_sha1"),
        ("{PBKDF2-SHA1}1000$x$y", "ldap_pbkdf2_sha1"),
        ("{pbkdf2-sha256}1000$x$y", "ldap_pbkdf2_sha256"),
        ("{PBKDF2-SHA512}1000$x$y", "ldap_pbkdf2_sha512"),
        ("{PKCS5S2}abc", "atlassian_pbkdf2"),
        ("AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJg==", "aspnet_identity_v2"),
        (
            "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==",
            "aspnet_identity_v3",
        ),
        # Not registered, or not a hash at all.
        ("pbkdf2_sha512$1$salt$xx", None),
        ("bcrypt$$2b$12$" + "a" * 53, None),  # Django's plain BCryptPasswordHasher
        ("$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2", None),
        ("{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=", None),
        ("{PKCS5S2}", "atlassian_pbkdf2"),
        ("{pkcs5s2}abc", None),  # Atlassian's tag is written in upper case only
        ("{ßHA}abc", None),  # would be "{SSHA}" under Unicode upper-casing
        ("abMbH7WsHr7wQ", None),  # traditional DES crypt: refused unless wrapped in {CRYPT}
        ("5f4dcc3b5aa765d61d8327deb882cf9", None),  # 31 hex
        ("5f4dcc3b5aa765d61d8327deb882cf99a", None),  # 33 hex
        ("5f4dcc3b5aa765d61d8327deb882cf9g", None),
        ("5f4dcc3b5aa765d61d8327deb882cf99:", None),
        (":pbkdf2-legacyA:x", None),
        ("password", None),
        (" $2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", None),
    ],
)
def test_identify_scheme_by_format(stored: str, scheme: str | None) -> None:
    assert identify_scheme(stored) == scheme


def test_a_site_salt_makes_a_lower_case_md5_a_moodle_hash() -> None:
    md5 = "5f4dcc3b5aa765d61d8327deb882cf99"
    with_site_salt = HashContext(site_salt="pepper")
    assert identify_scheme(md5) == "md5_hex"
    assert identify_scheme(md5, context=with_site_salt) == "moodle_md5"
    assert identify_scheme(md5.upper(), context=with_site_salt) == "md5_hex"  # Moodle writes lower case
    assert identify_scheme(md5, context=HashContext(salt="per-user")) == "md5_hex"
    assert identify_scheme("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", context=with_site_salt) == "sha1_hex"


@pytest.mark.parametrize("stored", [m for m in MARKERS if m is not None])
def test_markers_are_not_identified(stored: str) -> None:
    assert identify_scheme(stored) is None


@pytest.mark.parametrize("stored", MARKERS)
@pytest.mark.parametrize("password", [PASSWORD, "", "!", "*", "x", "not cached"])
def test_marker_values_never_authenticate(stored: str | None, password: str) -> None:
    assert verify_password(password, stored) == Verification(False, None, "no_hash")
    assert verify_password(password, stored, scheme="md5_hex", context=HashContext(site_salt="x")).reason == (
        "no_hash"
    )


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("lock", ["!", "*"])
def test_locked_shadow_entries_never_authenticate(scheme: str, lock: str) -> None:
    """A "!"-prefixed copy of a valid hash is a locked account, even with the right password."""
    stored, context = cheap(scheme)
    assert verify_password(PASSWORD, lock + stored, context=context).reason == "no_hash"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_empty_password_never_authenticates(scheme: str) -> None:
    stored, context = cheap(scheme)
    assert verify_password("", stored, context=context) == Verification(False, scheme, "empty_password")


def test_empty_password_never_authenticates_even_when_the_hash_is_of_the_empty_string() -> None:
    # From passlib's and crypt_blowfish's test vectors: these really are hashes of "".
    assert verify_password("", "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0").reason == "empty_password"
    assert verify_password("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy").reason == (
        "empty_password"
    )
    # md5(""), sha1(""), John the Ripper's md5crypt of "": the hashes exist in the wild.
    for stored in ["d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709"]:
        assert verify_password("", stored).reason == "empty_password"
    assert verify_password("", "$1$Eu.GHtia$CFkL/nE1BYTlEPiVx1VWX0").reason == "empty_password"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("password", ["password\x00", "password\x00anything", "\x00", "pass\x00word"])
def test_password_with_nul_never_authenticates(scheme: str, password: str) -> None:
    """PHP's password_verify would stop at the NUL and accept "password\\0anything"; we do not."""
    stored, context = cheap(scheme)
    assert verify_password(password, stored, context=context) == Verification(
        False, scheme, "nul_in_password"
    )


def test_nul_is_refused_even_where_the_legacy_system_would_hash_it() -> None:
    """MediaWiki's own test hashes "pass\\0word" (RFC 6070); the bridge still refuses it."""
    stored = ":pbkdf2:sha1:4096:16:c2EAbHQ=:Vvpqp1VICZ3MN9fwNCXgww=="
    assert verify_password("pass\x00word", stored) == Verification(
        False, "mediawiki_pbkdf2", "nul_in_password"
    )


@pytest.mark.parametrize(
    "stored", ["plaintext", "$9$salt$hash", "{SHA256}abc", "{X-PBKDF2}abc", "AQ==", "A" * 68]
)
def test_unrecognised_values_are_unknown_format(stored: str) -> None:
    assert verify_password(PASSWORD, stored) == Verification(False, None, "unknown_format")


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "wordpress_bcrypt"])
def test_password_is_not_trimmed_or_normalised(scheme: str) -> None:
    stored, context = cheap(scheme)
    fullwidth = "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"  # NFKC-normalises to "password"
    for variant in [" password", "password ", "password\n", "\tpassword", "PASSWORD", "pässword", fullwidth]:
        assert verify_password(variant, stored, context=context).reason == "mismatch", variant


def test_unencodable_password_matches_nothing() -> None:
    stored, _ = cheap("bcrypt")
    assert verify_password("pass\udc80word", stored) == Verification(False, "bcrypt", "mismatch")


def test_explicit_scheme_overrides_identification() -> None:
    pbkdf2, _ = cheap("django_pbkdf2_sha256")
    assert verify_password(PASSWORD, pbkdf2, scheme="django_pbkdf2_sha256").ok
    # The mapping says sha1, the row holds sha256: the row is broken for that mapping.
    assert verify_password(PASSWORD, pbkdf2, scheme="django_pbkdf2_sha1") == Verification(
        False, "django_pbkdf2_sha1", "malformed_hash"
    )
    assert verify_password(PASSWORD, cheap("phpass")[0], scheme="bcrypt").reason == "malformed_hash"


#: Forms the legacy systems themselves accept besides their own: phpBB stores bcrypt and (3.0's
#: installer) bare MD5; Joomla and Moodle accept a bare unsalted MD5.
ALSO_ACCEPTED = {
    ("phpbb3", "bcrypt"),
    ("phpbb3", "md5_hex"),
    ("joomla_md5", "md5_hex"),
    ("moodle_md5", "md5_hex"),
}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "other", ["bcrypt", "md5_hex", "ldap_ssha", "aspnet_identity_v3", "mediawiki_b", "argon2"]
)
def test_a_row_of_another_format_is_malformed_for_an_explicit_scheme(scheme: str, other: str) -> None:
    """The mapping names one scheme, the row holds another: never ok, never an exception."""
    stored, context = cheap(other)
    result = verify_password(PASSWORD, stored, scheme=scheme, context=context)
    if scheme == other or (scheme, other) in ALSO_ACCEPTED or (scheme == "phpbb3" and other == "argon2"):
        assert result.ok
    else:
        assert result == Verification(False, scheme, "malformed_hash")


def test_explicit_unregistered_scheme_is_unsupported() -> None:
    assert verify_password(PASSWORD, "5f4dcc3b5aa765d61d8327deb882cf99", scheme="md5") == Verification(
        False, "md5", "unsupported_scheme"
    )


def test_explicit_scheme_does_not_override_markers_or_password_rules() -> None:
    assert verify_password(PASSWORD, "!", scheme="bcrypt").reason == "no_hash"
    assert verify_password("", cheap("bcrypt")[0], scheme="bcrypt").reason == "empty_password"


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if not describe_scheme(s).uses_salt])  # type: ignore[union-attr]
def test_an_external_salt_is_ignored_by_self_salting_schemes(scheme: str) -> None:
    stored, context = cheap(scheme)
    assert verify_password(PASSWORD, stored, salt="pepper", context=context).ok


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("password", ["password", "S3cret-pässwörd-42", "wrong-Pa55word"])
def test_result_never_contains_the_password_or_hash(
    scheme: str, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stored, context = cheap(scheme)
    result = verify_password(password, stored, context=context)
    shown = repr(result) + str(result) + repr(dataclasses.astuple(result))
    assert password not in shown
    assert stored not in shown
    assert password not in caplog.text
    assert {f.name for f in dataclasses.fields(Verification)} == {"ok", "scheme", "reason"}


def test_verification_is_immutable() -> None:
    result = verify_password(PASSWORD, cheap("bcrypt")[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = False  # type: ignore[misc]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_says_how_weak_it_is(scheme: str) -> None:
    info = describe_scheme(scheme)
    assert info is not None
    assert info.name == scheme
    assert len(info.weakness) > 40, info.weakness
    assert info.summary and info.identification
    assert "\n" not in info.weakness
    if info.needs_salt:
        assert info.uses_salt
    if info.needs_site_salt:
        assert info.uses_site_salt


def test_describe_scheme_reports_context_needs_and_work_factor() -> None:
    assert describe_scheme("no_such_scheme") is None
    moodle, md5, bcrypt_info, drupal = (
        describe_scheme(n) for n in ("moodle_md5", "md5_hex", "bcrypt", "drupal7")
    )
    assert (
        moodle is not None and moodle.needs_site_salt and not moodle.needs_salt and not moodle.has_work_factor
    )
    assert md5 is not None and md5.uses_salt and md5.uses_site_salt and not md5.needs_salt
    assert "force a reset" in md5.weakness.lower()
    assert bcrypt_info is not None and bcrypt_info.has_work_factor and not bcrypt_info.uses_salt
    assert bcrypt_info.prefixes == ("$2a$", "$2b$", "$2y$", "$2x$", "$2$")
    assert drupal is not None and drupal.identification == "prefix $S$"
    ldap = describe_scheme("ldap_ssha")
    assert ldap is not None and ldap.identification == "prefix {SSHA} (any case)"
    assert describe_scheme("phpbb3").identification.startswith("prefix $CP$")  # type: ignore[union-attr]


def _load_with(monkeypatch: pytest.MonkeyPatch, extra: type[LegacyScheme]) -> None:
    monkeypatch.setattr(registry_module, "SCHEMES", (*schemes_module.SCHEMES, extra))
    registry_module._registry.cache_clear()


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    yield monkeypatch
    monkeypatch.undo()
    registry_module._registry.cache_clear()
    assert known_schemes() == SCHEMES


def test_registry_refuses_overlapping_prefixes(fresh_registry: pytest.MonkeyPatch) -> None:
    """Identification must not depend on the order schemes were registered in."""

    class Greedy(LegacyScheme):
        """Test-only scheme whose prefix would swallow bcrypt's.

        Weakness: none to speak of; it never matches.
        """

        name = "greedy"
        prefixes = ("$2",)

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, Greedy)
    with pytest.raises(RuntimeError, match="overlapping prefixes"):
        registry_module._registry()


def test_registry_compares_prefixes_in_any_case(fresh_registry: pytest.MonkeyPatch) -> None:
    class Shouty(LegacyScheme):
        """Test-only scheme whose prefix is LDAP's {SSHA} in lower case.

        Weakness: none to speak of; it never matches.
        """

        name = "shouty"
        prefixes = ("{ssha}x",)

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, Shouty)
    with pytest.raises(RuntimeError, match="overlapping prefixes"):
        registry_module._registry()


def test_registry_refuses_a_pattern_that_claims_another_schemes_samples(
    fresh_registry: pytest.MonkeyPatch,
) -> None:
    class AnyHex(LegacyScheme):
        """Test-only scheme that claims every 32-hex value, as md5_hex does.

        Weakness: none to speak of; it never matches.
        """

        name = "any_hex"
        samples = ("00000000000000000000000000000000",)

        def identifies(self, stored: str, context: HashContext) -> bool:
            return len(stored) == 32

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, AnyHex)
    with pytest.raises(RuntimeError, match="all identify"):
        registry_module._registry()


def test_registry_refuses_a_scheme_that_does_not_identify_its_samples(
    fresh_registry: pytest.MonkeyPatch,
) -> None:
    class Shy(LegacyScheme):
        """Test-only scheme.

        Weakness: none to speak of; it never matches.
        """

        name = "shy"
        samples = ("~shy~",)

        def identifies(self, stored: str, context: HashContext) -> bool:
            return False

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, Shy)
    with pytest.raises(RuntimeError, match="does not identify its sample"):
        registry_module._registry()


def test_registry_refuses_a_scheme_that_does_not_say_how_weak_it_is(
    fresh_registry: pytest.MonkeyPatch,
) -> None:
    class Silent(LegacyScheme):
        """Test-only scheme with no weakness paragraph."""

        name = "silent"
        prefixes = ("{SILENT}",)

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, Silent)
    with pytest.raises(RuntimeError, match="Weakness"):
        registry_module._registry()


def test_registry_refuses_two_schemes_with_one_name(fresh_registry: pytest.MonkeyPatch) -> None:
    class Twin(LegacyScheme):
        """Test-only scheme.

        Weakness: none to speak of; it never matches.
        """

        name = "bcrypt"
        prefixes = ("{TWIN}",)

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "mismatch"

    _load_with(fresh_registry, Twin)
    with pytest.raises(RuntimeError, match="two legacy hash schemes are named"):
        registry_module._registry()


def test_adding_a_scheme_is_a_small_class(fresh_registry: pytest.MonkeyPatch) -> None:
    class Plain(LegacyScheme):
        """Test-only scheme: plaintext with a prefix.

        Weakness: no protection at all.
        """

        name = "test_plain"
        prefixes = ("{TESTPLAIN}",)

        def check(self, password: str, stored: str, context: HashContext) -> Outcome:
            return "ok" if stored == "{TESTPLAIN}" + password else "mismatch"

    _load_with(fresh_registry, Plain)
    assert "test_plain" in known_schemes()
    assert identify_scheme("{TESTPLAIN}abc") == "test_plain"
    assert verify_password("abc", "{TESTPLAIN}abc") == Verification(True, "test_plain", "ok")
    assert verify_password("", "{TESTPLAIN}").reason == "empty_password"
    assert describe_scheme("test_plain").weakness == "no protection at all."  # type: ignore[union-attr]
