"""Identification, refusals before hashing, and the shape of the result."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from accounts.hashers import (
    LegacyScheme,
    Verification,
    identify_scheme,
    known_schemes,
    verify_password,
)
from accounts.hashers import registry as registry_module
from accounts.hashers import schemes as schemes_module
from accounts.hashers.base import Outcome

# Low-cost, well-formed hashes of "password" (bcrypt cost 4, PBKDF2 1 iteration, phpass 2^7,
# sha512-crypt 1000 rounds), cheap enough to use everywhere. bcrypt and sha512-crypt come from
# libxcrypt's crypt(3); the PBKDF2 digests are the published one-iteration vectors (RFC 6070 for
# SHA-1, 120fb6cf... for SHA-256) in Django's format; phpass is checked against a reference
# implementation in test_hashers_phpass.py.
PASSWORD = "password"
CHEAP = {
    "bcrypt": "$2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm",
    "django_pbkdf2_sha256": "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
    "django_pbkdf2_sha1": "pbkdf2_sha1$1$salt$DGDID5YfDnHzqbUkr2ASBi/gN6Y=",
    "phpass": "$P$512345678gWElwkeSOP9tFeJ1LUBM8/",
    "sha512_crypt": "$6$rounds=1000$saltsalt$Z/J9iYO1iE9xnr8JPQL57ZWsVRtVjrUv3CiWc/wKWseqXgSqn3HFYJ/Ng7YXa8X"
    "lLj.wpdAwHOJJzuGFqBBRa0",
}
MARKERS = [None, "", " ", "!", "!!", "*", "*LK*", "x", "not cached", "!$6$saltstring$abc", "*NP*"]


def test_known_schemes_are_the_required_ones() -> None:
    assert known_schemes() == sorted(CHEAP)


@pytest.mark.parametrize("scheme", sorted(CHEAP))
def test_cheap_vectors_verify_with_the_right_password_only(scheme: str) -> None:
    assert verify_password(PASSWORD, CHEAP[scheme]) == Verification(True, scheme, "ok")
    assert verify_password("Password", CHEAP[scheme]) == Verification(False, scheme, "mismatch")


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
        # Not (yet) registered, or not a hash at all.
        ("$1$saltsalt$hash", None),
        ("$5$saltstring$hash", None),
        ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", None),
        ("5f4dcc3b5aa765d61d8327deb882cf99", None),
        ("pbkdf2_sha512$1$salt$xx", None),
        ("bcrypt$$2b$12$" + "a" * 53, None),
        ("$wp$2y$10$" + "a" * 53, None),
        ("password", None),
        (" $2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", None),
    ],
)
def test_identify_scheme_by_prefix(stored: str, scheme: str | None) -> None:
    assert identify_scheme(stored) == scheme


@pytest.mark.parametrize("stored", [m for m in MARKERS if m is not None])
def test_markers_are_not_identified(stored: str) -> None:
    assert identify_scheme(stored) is None


@pytest.mark.parametrize("stored", MARKERS)
@pytest.mark.parametrize("password", [PASSWORD, "", "!", "*", "x", "not cached"])
def test_marker_values_never_authenticate(stored: str | None, password: str) -> None:
    assert verify_password(password, stored) == Verification(False, None, "no_hash")


@pytest.mark.parametrize("stored", ["!" + h for h in CHEAP.values()] + ["*" + h for h in CHEAP.values()])
def test_locked_shadow_entries_never_authenticate(stored: str) -> None:
    """A "!"-prefixed copy of a valid hash is a locked account, even with the right password."""
    assert verify_password(PASSWORD, stored).reason == "no_hash"


@pytest.mark.parametrize("scheme", sorted(CHEAP))
def test_empty_password_never_authenticates(scheme: str) -> None:
    assert verify_password("", CHEAP[scheme]) == Verification(False, scheme, "empty_password")


def test_empty_password_never_authenticates_even_when_the_hash_is_of_the_empty_string() -> None:
    # From passlib's and crypt_blowfish's test vectors: these really are hashes of "".
    assert verify_password("", "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0").reason == "empty_password"
    assert verify_password("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy").reason == (
        "empty_password"
    )


@pytest.mark.parametrize("scheme", sorted(CHEAP))
@pytest.mark.parametrize("password", ["password\x00", "password\x00anything", "\x00", "pass\x00word"])
def test_password_with_nul_never_authenticates(scheme: str, password: str) -> None:
    """PHP's password_verify would stop at the NUL and accept "password\\0anything"; we do not."""
    assert verify_password(password, CHEAP[scheme]) == Verification(False, scheme, "nul_in_password")


@pytest.mark.parametrize(
    "stored", ["5f4dcc3b5aa765d61d8327deb882cf99", "$1$saltsalt$x", "plaintext", "{SSHA}abc"]
)
def test_unrecognised_values_are_unknown_format(stored: str) -> None:
    assert verify_password(PASSWORD, stored) == Verification(False, None, "unknown_format")


def test_password_is_not_trimmed_or_normalised() -> None:
    hashed = CHEAP["django_pbkdf2_sha256"]
    fullwidth = "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"  # NFKC-normalises to "password"
    for variant in [" password", "password ", "password\n", "PASSWORD", "pässword", fullwidth]:
        assert verify_password(variant, hashed).reason == "mismatch", variant


def test_unencodable_password_matches_nothing() -> None:
    assert verify_password("pass\udc80word", CHEAP["bcrypt"]) == Verification(False, "bcrypt", "mismatch")


def test_explicit_scheme_overrides_identification() -> None:
    pbkdf2 = CHEAP["django_pbkdf2_sha256"]
    assert verify_password(PASSWORD, pbkdf2, scheme="django_pbkdf2_sha256").ok
    # The mapping says sha1, the row holds sha256: the row is broken for that mapping.
    assert verify_password(PASSWORD, pbkdf2, scheme="django_pbkdf2_sha1") == Verification(
        False, "django_pbkdf2_sha1", "malformed_hash"
    )
    assert verify_password(PASSWORD, CHEAP["phpass"], scheme="bcrypt").reason == "malformed_hash"


def test_explicit_unregistered_scheme_is_unsupported() -> None:
    assert verify_password(PASSWORD, "5f4dcc3b5aa765d61d8327deb882cf99", scheme="md5") == Verification(
        False, "md5", "unsupported_scheme"
    )


def test_explicit_scheme_does_not_override_markers_or_password_rules() -> None:
    assert verify_password(PASSWORD, "!", scheme="bcrypt").reason == "no_hash"
    assert verify_password("", CHEAP["bcrypt"], scheme="bcrypt").reason == "empty_password"


@pytest.mark.parametrize("scheme", sorted(CHEAP))
def test_an_external_salt_is_ignored_by_self_salting_schemes(scheme: str) -> None:
    assert verify_password(PASSWORD, CHEAP[scheme], salt="pepper").ok


@pytest.mark.parametrize("scheme", sorted(CHEAP))
@pytest.mark.parametrize("password", ["password", "S3cret-pässwörd-42", "wrong-Pa55word"])
def test_result_never_contains_the_password_or_hash(
    scheme: str, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = verify_password(password, CHEAP[scheme])
    shown = repr(result) + str(result) + repr(dataclasses.astuple(result))
    assert password not in shown
    assert CHEAP[scheme] not in shown
    assert password not in caplog.text
    assert {f.name for f in dataclasses.fields(Verification)} == {"ok", "scheme", "reason"}


def test_verification_is_immutable() -> None:
    result = verify_password(PASSWORD, CHEAP["bcrypt"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = False  # type: ignore[misc]


def test_registry_refuses_overlapping_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identification must not depend on the order schemes were registered in."""

    class Greedy(LegacyScheme):
        """Test-only scheme whose prefix would swallow bcrypt's."""

        name = "greedy"
        prefixes = ("$2",)

        def check(self, password: str, stored: str, salt: str | None) -> Outcome:
            return "mismatch"

    monkeypatch.setattr(registry_module, "SCHEMES", (*schemes_module.SCHEMES, Greedy))
    registry_module._registry.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="overlapping prefixes"):
            registry_module._registry()
    finally:
        monkeypatch.undo()
        registry_module._registry.cache_clear()
    assert known_schemes() == sorted(CHEAP)


def test_adding_a_scheme_is_a_small_class(monkeypatch: pytest.MonkeyPatch) -> None:
    class Plain(LegacyScheme):
        """Test-only scheme: plaintext with a prefix. No protection at all."""

        name = "test_plain"
        prefixes = ("{TESTPLAIN}",)

        def check(self, password: str, stored: str, salt: str | None) -> Outcome:
            return "ok" if stored == "{TESTPLAIN}" + password else "mismatch"

    monkeypatch.setattr(registry_module, "SCHEMES", (*schemes_module.SCHEMES, Plain))
    registry_module._registry.cache_clear()
    try:
        assert "test_plain" in known_schemes()
        assert identify_scheme("{TESTPLAIN}abc") == "test_plain"
        assert verify_password("abc", "{TESTPLAIN}abc") == Verification(True, "test_plain", "ok")
        assert verify_password("", "{TESTPLAIN}").reason == "empty_password"
    finally:
        monkeypatch.undo()
        registry_module._registry.cache_clear()
