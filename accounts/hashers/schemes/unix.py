"""The crypt(3) family (bcrypt, MD5-crypt, APR1, SHA-crypt), phpass, and Argon2's PHC strings.

The wrappers elsewhere (``$wp$``, Django, phpBB, ``{CRYPT}``) reuse :func:`bcrypt_verify` and
:func:`argon2_verify` so that the cost ceilings live in one place.
"""

from __future__ import annotations

import re
from typing import ClassVar

import bcrypt
from argon2 import exceptions as argon2_exceptions
from argon2 import low_level as argon2_low_level
from passlib.exc import PasswordSizeError  # type: ignore[import-untyped]
from passlib.handlers.md5_crypt import apr_md5_crypt, md5_crypt  # type: ignore[import-untyped]
from passlib.handlers.phpass import phpass  # type: ignore[import-untyped]
from passlib.handlers.sha2_crypt import sha256_crypt, sha512_crypt  # type: ignore[import-untyped]

from ..base import HashContext, LegacyScheme, Outcome
from ._common import H64, ITOA64, outcome

_BCRYPT_SHAPE = re.compile(rf"\$(2[abxy]?)\$([0-9]{{2}})\$({H64}{{53}})", re.ASCII)


def bcrypt_problem(stored: str) -> Outcome | None:
    """Why a ``$2?$`` string cannot be checked (malformed, refused variant, cost too high), or ``None``."""
    match = _BCRYPT_SHAPE.fullmatch(stored)
    if match is None:
        return "malformed_hash"
    variant, cost_text, _ = match.groups()
    if not 4 <= int(cost_text) <= 31:
        return "malformed_hash"
    if variant not in ("2a", "2b", "2y") or int(cost_text) > Bcrypt.max_cost:
        return "unsupported_scheme"
    return None


def bcrypt_verify(secret: bytes, stored: str) -> Outcome:
    """Check ``secret`` (at most 72 bytes) against a ``$2?$`` string, within :class:`Bcrypt`'s rules."""
    problem = bcrypt_problem(stored)
    if problem is not None:
        return problem
    try:
        matched = bcrypt.checkpw(secret, b"$2b$" + stored[4:].encode("ascii"))
    except ValueError:  # the bcrypt package's "Invalid salt" (a non-canonical salt character)
        return "malformed_hash"
    return outcome(matched)


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

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        return bcrypt_verify(password.encode("utf-8")[: self.max_password_bytes], stored)


class PhpassPortable(LegacyScheme):
    """phpass portable hashes ``$P$`` (WordPress before 6.8, Drupal 7 imports) and ``$H$`` (phpBB3).

    Weakness: iterated salted MD5, 2^7..2^30 iterations (WordPress uses 2^13, phpBB3 2^11) and a
    48-bit salt. MD5 is extremely fast on GPUs: roughly 10^7 guesses/s per GPU at WordPress's
    setting. Treat these hashes as crackable for any password a person would choose.

    Verified with libpass's ``phpass``. A password longer than 4096 characters never matches
    (libpass's limit; phpass 0.5 and WordPress refuse more than 4096 bytes, when hashing too, so no
    such hash exists). WordPress trims the password before hashing: set
    ``HashContext.trim_whitespace`` for a WordPress table.
    """

    name = "phpass"
    prefixes = ("$P$", "$H$")
    #: 2^22 MD5 iterations in pure Python, about 2.5 s.
    max_log2_rounds: ClassVar[int] = 22

    _shape = re.compile(rf"\$[PH]\$({H64}){H64}{{8}}{H64}{{22}}", re.ASCII)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        log2_rounds = ITOA64.index(match.group(1))
        if not 7 <= log2_rounds <= 30:  # phpass itself refuses these
            return "malformed_hash"
        if log2_rounds > self.max_log2_rounds:
            return "unsupported_scheme"
        try:
            return outcome(bool(phpass.verify(password, stored)))
        except PasswordSizeError:
            return "mismatch"
        except ValueError:
            return "malformed_hash"


class _PasslibCrypt(LegacyScheme):
    """A crypt(3) format verified by one of libpass's pure-Python handlers (never ``crypt``)."""

    handler: ClassVar[object]
    shape: ClassVar[re.Pattern[str]]
    #: For ``rounds=`` formats: the ceiling (``None``: fixed cost).
    max_rounds: ClassVar[int | None] = None

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        match = self.shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        if self.max_rounds is not None and match.group(1) is not None:
            rounds = int(match.group(1))
            if not 1000 <= rounds <= 999_999_999:  # crypt(3) never writes these
                return "malformed_hash"
            if rounds > self.max_rounds:
                return "unsupported_scheme"
        try:
            return outcome(bool(self.handler.verify(password, stored)))  # type: ignore[attr-defined]
        except PasswordSizeError:
            return "mismatch"
        except ValueError:
            return "malformed_hash"


class Sha512Crypt(_PasslibCrypt):
    """SHA-512 crypt ``$6$`` (glibc/libxcrypt, Ulrich Drepper's specification), as in /etc/shadow.

    Weakness: not memory-hard; 5000 rounds by default (``rounds=`` 1000..999,999,999) and a salt
    of up to 16 characters (96 bits). At the default, roughly 10^6 guesses/s per GPU.

    Verified with libpass's pure-Python ``sha512_crypt`` (the ``crypt`` module is gone in Python
    3.13). Only what crypt(3) itself emits is accepted: ``rounds=`` without leading zeros and within
    1000..999,999,999. A password longer than 4096 characters never matches (a libpass limit).
    """

    name = "sha512_crypt"
    prefixes = ("$6$",)
    handler = sha512_crypt
    #: About 3.5 s in libpass's implementation; passlib's own default was 656,000.
    max_rounds: ClassVar[int | None] = 5_000_000
    shape = re.compile(rf"\$6\$(?:rounds=([1-9][0-9]{{0,9}})\$)?{H64}{{0,16}}\${H64}{{86}}", re.ASCII)


class Sha256Crypt(_PasslibCrypt):
    """SHA-256 crypt ``$5$`` (glibc/libxcrypt, Drepper's specification; some older /etc/shadow files).

    Weakness: as ``sha512_crypt`` but with SHA-256, which GPUs run somewhat faster: roughly 10^6
    guesses/s per GPU at the default 5000 rounds. Not memory-hard.

    Verified with libpass's pure-Python ``sha256_crypt``, with the same strictness and limits as
    ``sha512_crypt``.
    """

    name = "sha256_crypt"
    prefixes = ("$5$",)
    handler = sha256_crypt
    max_rounds: ClassVar[int | None] = 5_000_000
    shape = re.compile(rf"\$5\$(?:rounds=([1-9][0-9]{{0,9}})\$)?{H64}{{0,16}}\${H64}{{43}}", re.ASCII)


class Md5Crypt(_PasslibCrypt):
    """MD5-crypt ``$1$`` (Poul-Henning Kamp's FreeBSD scheme; old Linux /etc/shadow, Cisco, LDAP).

    Weakness: a fixed 1000 MD5 iterations and a salt of at most 8 characters; roughly 10^7
    guesses/s per GPU. Its author declared it unsafe in 2012. Force a reset in the portal.

    Verified with libpass's pure-Python ``md5_crypt``.
    """

    name = "md5_crypt"
    prefixes = ("$1$",)
    handler = md5_crypt
    shape = re.compile(rf"\$1\${H64}{{0,8}}\${H64}{{22}}", re.ASCII)


class Apr1(_PasslibCrypt):
    """Apache's MD5 variant ``$apr1$`` (``htpasswd -m``, the default before Apache 2.4 offered bcrypt).

    Weakness: MD5-crypt with a different magic string, so exactly as weak: 1000 MD5 iterations,
    roughly 10^7 guesses/s per GPU. Force a reset in the portal.

    Verified with libpass's pure-Python ``apr_md5_crypt``.
    """

    name = "apr1"
    prefixes = ("$apr1$",)
    handler = apr_md5_crypt
    shape = re.compile(rf"\$apr1\${H64}{{0,8}}\${H64}{{22}}", re.ASCII)


_ARGON2_SHAPE = re.compile(
    r"\$(argon2(?:id|i|d))\$(?:v=(16|19)\$)?m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,10})"
    r"\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{6,})",
    re.ASCII,
)
_ARGON2_TYPES = {
    "argon2i": argon2_low_level.Type.I,
    "argon2d": argon2_low_level.Type.D,
    "argon2id": argon2_low_level.Type.ID,
}


def argon2_verify(password: str, stored: str) -> Outcome:
    """Check ``password`` against an Argon2 PHC string, within :class:`Argon2`'s ceilings."""
    match = _ARGON2_SHAPE.fullmatch(stored)
    if match is None:
        return "malformed_hash"
    variant, _version, memory_text, time_text, lanes_text, _salt, _digest = match.groups()
    memory_kib, time_cost, lanes = int(memory_text), int(time_text), int(lanes_text)
    if time_cost < 1 or lanes < 1 or memory_kib < 8 * lanes:  # the Argon2 specification's minimums
        return "malformed_hash"
    if (
        memory_kib > Argon2.max_memory_kib
        or memory_kib * time_cost > Argon2.max_work_kib
        or lanes > Argon2.max_parallelism
    ):
        return "unsupported_scheme"
    try:
        argon2_low_level.verify_secret(
            stored.encode("ascii"), password.encode("utf-8"), _ARGON2_TYPES[variant]
        )
    except argon2_exceptions.VerifyMismatchError:
        return "mismatch"
    except (argon2_exceptions.VerificationError, argon2_exceptions.InvalidHashError):
        return "malformed_hash"  # the C library's decoder refused it (bad base64, leading zeros, ...)
    return "ok"


class Argon2(LegacyScheme):
    """Argon2 PHC strings ``$argon2id$``, ``$argon2i$``, ``$argon2d$`` (PHP ``password_hash``, phpBB 3.3).

    Weakness: memory-hard, the best of these formats when the parameters are sane; PHP's default
    (64 MiB, 4 passes) keeps a GPU to roughly 10^2..10^3 guesses/s. ``argon2d`` is meant for
    cryptocurrencies, not passwords (side channels), and hashes without ``v=`` use version 1.0.

    Verified with argon2-cffi. Ceilings: 1 GiB of memory, memory times passes at most 4 GiB, and
    at most 64 lanes (argon2-cffi runs one thread per lane).
    """

    name = "argon2"
    prefixes = ("$argon2id$", "$argon2i$", "$argon2d$")
    max_memory_kib: ClassVar[int] = 1_048_576
    max_work_kib: ClassVar[int] = 4_194_304
    max_parallelism: ClassVar[int] = 64

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        return argon2_verify(password, stored)
