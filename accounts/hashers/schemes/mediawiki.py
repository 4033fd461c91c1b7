"""MediaWiki's ``:<type>:...`` password formats (includes/Password/ since MediaWiki 1.24)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import (
    CANONICAL_INT,
    PBKDF2_MAX_WORK,
    b64decode_canonical,
    equal,
    is_hex,
    md5_hex,
    outcome,
    pbkdf2_work,
)


class MediawikiPbkdf2(LegacyScheme):
    """MediaWiki ``:pbkdf2:<algo>:<cost>:<length>:<base64 salt>:<base64 hash>`` (1.24+ default).

    Weakness: not memory-hard; MediaWiki's default (SHA-512, 30,000 iterations) allows roughly
    10^5 guesses/s per GPU. Rows written with other settings are as strong as those settings.

    MediaWiki's ``Pbkdf2Password``: ``hash_pbkdf2(algo, password, base64_decode(salt), cost,
    length, true)``, base64-encoded; ``length`` is in bytes. Algorithms: md5, sha1, sha224, sha256,
    sha384, sha512. Iterations are limited by the shared PBKDF2 budget (about 3.5 s).
    """

    name = "mediawiki_pbkdf2"
    prefixes = (":pbkdf2:",)
    max_work: ClassVar[int] = PBKDF2_MAX_WORK
    max_length: ClassVar[int] = 1024

    _algorithms = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        parts = stored.split(":")
        if len(parts) != 7 or parts[:2] != ["", "pbkdf2"]:
            return "malformed_hash"
        _, _, algorithm, cost_text, length_text, salt_text, hash_text = parts
        if algorithm not in self._algorithms:
            return "malformed_hash"
        if CANONICAL_INT.fullmatch(cost_text) is None or CANONICAL_INT.fullmatch(length_text) is None:
            return "malformed_hash"
        cost, length = int(cost_text), int(length_text)
        try:
            salt = base64.b64decode(salt_text, validate=True)
        except (binascii.Error, ValueError):
            return "malformed_hash"
        expected = b64decode_canonical(hash_text)
        if not salt or expected is None or len(expected) != length or length > self.max_length:
            return "malformed_hash"
        if pbkdf2_work(algorithm, cost, length) > self.max_work:
            return "unsupported_scheme"
        actual = hashlib.pbkdf2_hmac(algorithm, password.encode("utf-8"), salt, cost, length)
        return outcome(equal(actual, expected))


class MediawikiB(LegacyScheme):
    """MediaWiki ``:B:<salt>:<md5 hex>``: ``md5(salt . "-" . md5(password))`` (1.13-1.23 default).

    Weakness: two MD5s with a short salt: roughly 10^10 guesses/s per GPU. Force a reset.

    MediaWiki's ``MWSaltedPassword``. MediaWiki's ``$wgLegacyEncoding`` retry (re-encoding the
    password to Latin-1) is not done: it re-encodes what the user typed (DECISIONS.md).
    """

    name = "mediawiki_b"
    prefixes = (":B:",)
    has_work_factor = False

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not stored.startswith(":B:"):
            return "malformed_hash"
        return _salted_md5(password, stored.split(":")[2:])


class MediawikiA(LegacyScheme):
    """MediaWiki ``:A:<md5 hex>``: unsalted ``md5(password)`` (before 1.13, or ``$wgPasswordSalt`` off).

    Weakness: unsalted MD5: instant lookup in precomputed tables, roughly 10^11 guesses/s per GPU
    otherwise. Force a reset in the portal.

    MediaWiki's ``MWOldPassword``. MediaWiki 1.24-1.34 also read ``:A:<salt>:<hash>`` as the
    salted form (``$wgPasswordSalt``); that is accepted too.
    """

    name = "mediawiki_a"
    prefixes = (":A:",)
    has_work_factor = False

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not stored.startswith(":A:"):
            return "malformed_hash"
        args = stored.split(":")[2:]
        if len(args) == 1:
            if not is_hex(args[0], 32, lower_only=True):
                return "malformed_hash"
            return outcome(equal(md5_hex(password).encode("ascii"), args[0].encode("ascii")))
        return _salted_md5(password, args)


_SALT = re.compile(r"[^:\s]{1,64}")


def _salted_md5(password: str, args: list[str]) -> Outcome:
    if len(args) != 2 or _SALT.fullmatch(args[0]) is None or not is_hex(args[1], 32, lower_only=True):
        return "malformed_hash"
    try:
        computed = md5_hex(args[0] + "-" + md5_hex(password))
    except UnicodeEncodeError:
        return "malformed_hash"
    return outcome(equal(computed.encode("ascii"), args[1].encode("ascii")))
