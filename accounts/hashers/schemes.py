"""One small verifier per legacy hash format.

Each verifier parses the stored value strictly before any hashing, so a broken row yields
``malformed_hash`` instead of an exception, and refuses a work factor above its ceiling
(``unsupported_scheme``) so that one odd row cannot hold a worker for minutes or days. The
ceilings keep a single verification to a few seconds on a 2024 server core; no deployment we know
of comes near them.

Guess rates in the docstrings are rough orders of magnitude for one current high-end GPU running
hashcat; they are there to rank the schemes, not to plan an attack.

To add a scheme: write a ``LegacyScheme`` subclass here and append it to ``SCHEMES``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import ClassVar

import bcrypt
from passlib.exc import PasswordSizeError  # type: ignore[import-untyped]
from passlib.handlers.phpass import phpass  # type: ignore[import-untyped]
from passlib.handlers.sha2_crypt import sha512_crypt  # type: ignore[import-untyped]

from .base import LegacyScheme, Outcome

# The crypt(3) / phpass alphabet, in phpass's order (the index of a character is its value).
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_H64 = "[./0-9A-Za-z]"


def _outcome(matched: bool) -> Outcome:
    return "ok" if matched else "mismatch"


class Bcrypt(LegacyScheme):
    """bcrypt (``$2a$``, ``$2b$``, ``$2y$``): Blowfish key setup repeated 2^cost times, 128-bit salt.

    Weakness: the strongest scheme here, but not memory-hard (4 KiB of state), so GPUs and FPGAs
    still run it: roughly 10^4 guesses/s per GPU at cost 10, 10^3 at cost 12. Only the first 72
    bytes of the password take part, so longer passwords add nothing beyond that.

    The first 72 bytes of the UTF-8 password are used, cutting a multi-byte character if need be,
    as PHP, Ruby, Java and libxcrypt do (the ``bcrypt`` package refuses longer input instead).
    ``$2a$``, ``$2b$`` and ``$2y$`` are the same algorithm for any UTF-8 password of at most 72
    bytes: ``$2b$`` fixed an OpenBSD length wrap-around beyond 255 bytes and ``$2y$`` marks PHP's
    fixed crypt_blowfish. ``$2x$`` (crypt_blowfish's deliberately buggy sign-extension mode for
    8-bit characters) and the original ``$2$`` are refused as ``unsupported_scheme``.
    """

    name = "bcrypt"
    prefixes = ("$2a$", "$2b$", "$2y$", "$2x$", "$2$")
    #: 2^16 Blowfish setups, about 5 s.
    max_cost: ClassVar[int] = 16
    max_password_bytes: ClassVar[int] = 72

    _shape = re.compile(rf"\$(2[abxy]?)\$([0-9]{{2}})\$({_H64}{{53}})", re.ASCII)

    def check(self, password: str, stored: str, salt: str | None) -> Outcome:
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        variant, cost_text, salt_and_digest = match.groups()
        cost = int(cost_text)
        if not 4 <= cost <= 31:
            return "malformed_hash"
        if variant not in ("2a", "2b", "2y") or cost > self.max_cost:
            return "unsupported_scheme"
        secret = password.encode("utf-8")[: self.max_password_bytes]
        try:
            matched = bcrypt.checkpw(secret, f"$2b${cost_text}${salt_and_digest}".encode("ascii"))
        except ValueError:  # the bcrypt package's "Invalid salt" (a non-canonical salt character)
            return "malformed_hash"
        return _outcome(matched)


class _DjangoPbkdf2(LegacyScheme):
    """Django's ``<algorithm>$<iterations>$<salt>$<base64 digest>`` PBKDF2 format.

    Implemented with ``hashlib.pbkdf2_hmac`` rather than ``django.contrib.auth.hashers`` so that
    legacy schemes stay out of ``PASSWORD_HASHERS``. Only what Django itself would verify is
    accepted: no leading zeros in the iteration count (Django compares the re-encoded string), a
    non-empty salt, and the canonical base64 of a digest of the right length.
    """

    algorithm: ClassVar[str]
    digest: ClassVar[str]
    digest_size: ClassVar[int]
    #: About 3.5 s with either digest; Django 5.2 uses 1,000,000 and adds ~20% a release.
    max_iterations: ClassVar[int] = 10_000_000

    _iterations = re.compile(r"[1-9][0-9]{0,9}", re.ASCII)

    def check(self, password: str, stored: str, salt: str | None) -> Outcome:
        parts = stored.split("$")
        if len(parts) != 4 or parts[0] != self.algorithm:
            return "malformed_hash"
        _, iterations_text, embedded_salt, encoded = parts
        if self._iterations.fullmatch(iterations_text) is None or not embedded_salt:
            return "malformed_hash"
        iterations = int(iterations_text)
        try:
            salt_bytes = embedded_salt.encode("utf-8")
            expected = base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error, non-ASCII base64 text, or an unencodable salt
            return "malformed_hash"
        if len(expected) != self.digest_size or base64.b64encode(expected).decode("ascii") != encoded:
            return "malformed_hash"
        if iterations > self.max_iterations:
            return "unsupported_scheme"
        actual = hashlib.pbkdf2_hmac(self.digest, password.encode("utf-8"), salt_bytes, iterations)
        return _outcome(hmac.compare_digest(actual, expected))


class DjangoPbkdf2Sha256(_DjangoPbkdf2):
    """Django ``pbkdf2_sha256$``: PBKDF2-HMAC-SHA256, iterations stored in the hash, random salt.

    Weakness: not memory-hard. Strength depends on the iteration count the row was made with:
    Django 1.4 used 10,000 (roughly 10^6 guesses/s per GPU), Django 5.2 uses 1,000,000 (roughly
    10^4 guesses/s). Old rows are only as strong as the Django release that last set them.
    """

    name = "django_pbkdf2_sha256"
    prefixes = ("pbkdf2_sha256$",)
    algorithm = "pbkdf2_sha256"
    digest = "sha256"
    digest_size = 32


class DjangoPbkdf2Sha1(_DjangoPbkdf2):
    """Django ``pbkdf2_sha1$``: PBKDF2-HMAC-SHA1, iterations stored in the hash, random salt.

    Weakness: as ``pbkdf2_sha256`` but SHA-1 is about twice as fast on GPUs; Django only offered it
    for compatibility. SHA-1's collision weakness does not matter for PBKDF2, its speed does.
    """

    name = "django_pbkdf2_sha1"
    prefixes = ("pbkdf2_sha1$",)
    algorithm = "pbkdf2_sha1"
    digest = "sha1"
    digest_size = 20


class PhpassPortable(LegacyScheme):
    """phpass portable hashes ``$P$`` (WordPress before 6.8, Drupal 7 imports) and ``$H$`` (phpBB3).

    Weakness: iterated salted MD5, 2^7..2^30 iterations (WordPress uses 2^13, phpBB3 2^11) and a
    48-bit salt. MD5 is extremely fast on GPUs: roughly 10^7 guesses/s per GPU at WordPress's
    setting. Treat these hashes as crackable for any password a person would choose.

    Verified with libpass's ``phpass``. A password longer than 4096 characters never matches
    (libpass's limit; phpass 0.5 and WordPress refuse more than 4096 bytes, when hashing too, so no
    such hash exists).
    """

    name = "phpass"
    prefixes = ("$P$", "$H$")
    #: 2^22 MD5 iterations in pure Python, about 2.5 s.
    max_log2_rounds: ClassVar[int] = 22

    _shape = re.compile(rf"\$[PH]\$({_H64}){_H64}{{8}}{_H64}{{22}}", re.ASCII)

    def check(self, password: str, stored: str, salt: str | None) -> Outcome:
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        log2_rounds = _ITOA64.index(match.group(1))
        if not 7 <= log2_rounds <= 30:  # phpass itself refuses these
            return "malformed_hash"
        if log2_rounds > self.max_log2_rounds:
            return "unsupported_scheme"
        try:
            return _outcome(bool(phpass.verify(password, stored)))
        except PasswordSizeError:
            return "mismatch"
        except ValueError:
            return "malformed_hash"


class Sha512Crypt(LegacyScheme):
    """SHA-512 crypt ``$6$`` (glibc/libxcrypt, Ulrich Drepper's specification), as in /etc/shadow.

    Weakness: not memory-hard; 5000 rounds by default (``rounds=`` 1000..999,999,999) and a salt
    of up to 16 characters (96 bits). At the default, roughly 10^6 guesses/s per GPU.

    Verified with libpass's pure-Python ``sha512_crypt`` (the ``crypt`` module is gone in Python
    3.13). Only what crypt(3) itself emits is accepted: ``rounds=`` without leading zeros and within
    1000..999,999,999. A password longer than 4096 characters never matches (a libpass limit).
    """

    name = "sha512_crypt"
    prefixes = ("$6$",)
    #: About 3.5 s in libpass's implementation; passlib's own default was 656,000.
    max_rounds: ClassVar[int] = 5_000_000

    _shape = re.compile(rf"\$6\$(?:rounds=([1-9][0-9]{{0,9}})\$)?{_H64}{{0,16}}\${_H64}{{86}}", re.ASCII)

    def check(self, password: str, stored: str, salt: str | None) -> Outcome:
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        if match.group(1) is not None:
            rounds = int(match.group(1))
            if not 1000 <= rounds <= 999_999_999:  # crypt(3) never writes these
                return "malformed_hash"
            if rounds > self.max_rounds:
                return "unsupported_scheme"
        try:
            return _outcome(bool(sha512_crypt.verify(password, stored)))
        except PasswordSizeError:
            return "mismatch"
        except ValueError:
            return "malformed_hash"


#: Every registered scheme, in no particular order; the registry instantiates each once.
SCHEMES: tuple[type[LegacyScheme], ...] = (
    Bcrypt,
    DjangoPbkdf2Sha256,
    DjangoPbkdf2Sha1,
    PhpassPortable,
    Sha512Crypt,
)
