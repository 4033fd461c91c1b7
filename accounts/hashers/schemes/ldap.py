"""RFC 2307 ``userPassword`` tags as OpenLDAP writes them, Apache's ``{SHA}``, and Atlassian's ``{PKCS5S2}``.

OpenLDAP compares scheme tags case-insensitively (``lutil_passwd``), so ``{ssha}`` is ``{SSHA}``.
Base64 bodies must be canonical standard base64; the PBKDF2 tags use passlib's and OpenLDAP's
"adapted base64" ('.' instead of '+', no padding).
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import (
    CANONICAL_INT,
    H64,
    PBKDF2_MAX_WORK,
    ab64decode_canonical,
    b64decode_canonical,
    equal,
    outcome,
    pbkdf2_work,
)
from .unix import Apr1, Bcrypt, Md5Crypt, Sha256Crypt, Sha512Crypt

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _body(stored: str, tags: tuple[str, ...]) -> str | None:
    """``stored`` without its tag (matched in any ASCII case), or ``None`` if no tag matches."""
    for tag in tags:
        if stored[: len(tag)].translate(_ASCII_UPPER) == tag:
            return stored[len(tag) :]
    return None


class _LdapDigest(LegacyScheme):
    """``{TAG}base64(H(password + salt) + salt)``, or ``base64(H(password))`` when unsalted."""

    case_insensitive_prefixes = True
    has_work_factor = False
    digest: ClassVar[str]
    salted: ClassVar[bool]
    max_salt_bytes: ClassVar[int] = 64

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        body = _body(stored, self.prefixes)
        decoded = None if body is None else b64decode_canonical(body)
        if decoded is None:
            return "malformed_hash"
        size = hashlib.new(self.digest).digest_size
        salt_length = len(decoded) - size
        if not (1 <= salt_length <= self.max_salt_bytes if self.salted else salt_length == 0):
            return "malformed_hash"
        expected, salt = decoded[:size], decoded[size:]
        actual = hashlib.new(self.digest, password.encode("utf-8") + salt).digest()
        return outcome(equal(actual, expected))


class LdapSsha(_LdapDigest):
    """LDAP ``{SSHA}``: base64(SHA-1(password + salt) + salt); OpenLDAP's ``slappasswd`` default.

    Weakness: a single salted SHA-1: roughly 10^10 guesses/s per GPU. Force a reset in the portal.

    OpenLDAP writes a 4-byte salt, other servers 8 or more; any salt of 1-64 bytes is accepted.
    """

    name = "ldap_ssha"
    prefixes = ("{SSHA}",)
    digest = "sha1"
    salted = True


class LdapSsha256(_LdapDigest):
    """LDAP ``{SSHA256}``: base64(SHA-256(password + salt) + salt) (OpenLDAP's sha2 module, 389-ds).

    Weakness: a single salted SHA-256: roughly 10^9..10^10 guesses/s per GPU. Force a reset.
    """

    name = "ldap_ssha256"
    prefixes = ("{SSHA256}",)
    digest = "sha256"
    salted = True


class LdapSsha512(_LdapDigest):
    """LDAP ``{SSHA512}``: base64(SHA-512(password + salt) + salt) (OpenLDAP's sha2 module, 389-ds).

    Weakness: a single salted SHA-512: roughly 10^9 guesses/s per GPU. Force a reset in the portal.
    """

    name = "ldap_ssha512"
    prefixes = ("{SSHA512}",)
    digest = "sha512"
    salted = True


class LdapSha(_LdapDigest):
    """LDAP ``{SHA}`` and Apache ``htpasswd -s``: base64(SHA-1(password)), unsalted.

    Weakness: unsalted SHA-1: equal passwords have equal hashes, precomputed tables answer
    instantly, and GPUs try roughly 10^10 guesses/s. Force a reset in the portal.
    """

    name = "ldap_sha"
    prefixes = ("{SHA}",)
    digest = "sha1"
    salted = False


class LdapMd5(_LdapDigest):
    """LDAP ``{MD5}``: base64(MD5(password)), unsalted.

    Weakness: unsalted MD5: precomputed tables answer instantly, GPUs try roughly 10^11 guesses/s.
    Force a reset in the portal.
    """

    name = "ldap_md5"
    prefixes = ("{MD5}",)
    digest = "md5"
    salted = False


class LdapSmd5(_LdapDigest):
    """LDAP ``{SMD5}``: base64(MD5(password + salt) + salt).

    Weakness: a single salted MD5: roughly 10^10..10^11 guesses/s per GPU. Force a reset.
    """

    name = "ldap_smd5"
    prefixes = ("{SMD5}",)
    digest = "md5"
    salted = True


class LdapCrypt(LegacyScheme):
    """LDAP ``{CRYPT}``: a crypt(3) string (``$1$``, ``$apr1$``, ``$5$``, ``$6$``, ``$2?$``) behind a tag.

    Weakness: that of the wrapped scheme (see md5_crypt, sha256_crypt, sha512_crypt, bcrypt);
    traditional DES crypt (13 characters, only 8 password characters count, roughly 10^9 guesses/s
    per GPU) is refused as ``unsupported_scheme``: those users must reset their password.

    The inner value is checked by the inner scheme, with its strictness and cost ceiling. A
    ``{CRYPT}`` whose value starts with ``!`` or ``*`` is a locked account (``no_hash``).
    """

    name = "ldap_crypt"
    prefixes = ("{CRYPT}",)
    case_insensitive_prefixes = True

    _inner = (Md5Crypt(), Apr1(), Sha256Crypt(), Sha512Crypt(), Bcrypt())
    _des = re.compile(rf"{H64}{{13}}|_{H64}{{19}}", re.ASCII)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        inner = _body(stored, self.prefixes)
        if not inner:
            return "malformed_hash"
        if inner.startswith(("!", "*")):
            return "no_hash"
        for scheme in self._inner:
            if scheme.identifies(inner, context):
                return scheme.check(password, inner, context)
        if self._des.fullmatch(inner):
            return "unsupported_scheme"
        return "malformed_hash"


class _LdapPbkdf2(LegacyScheme):
    """``{PBKDF2-<DIGEST>}<iterations>$<ab64 salt>$<ab64 derived key>`` (OpenLDAP pw-pbkdf2, passlib)."""

    case_insensitive_prefixes = True
    digest: ClassVar[str]
    max_work: ClassVar[int] = PBKDF2_MAX_WORK
    max_salt_bytes: ClassVar[int] = 64

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        body = _body(stored, self.prefixes)
        parts = [] if body is None else body.split("$")
        if len(parts) != 3 or CANONICAL_INT.fullmatch(parts[0]) is None:
            return "malformed_hash"
        iterations = int(parts[0])
        salt, expected = ab64decode_canonical(parts[1]), ab64decode_canonical(parts[2])
        size = hashlib.new(self.digest).digest_size
        if not salt or len(salt) > self.max_salt_bytes or expected is None or len(expected) != size:
            return "malformed_hash"
        if pbkdf2_work(self.digest, iterations, size) > self.max_work:
            return "unsupported_scheme"
        actual = hashlib.pbkdf2_hmac(self.digest, password.encode("utf-8"), salt, iterations)
        return outcome(equal(actual, expected))


class LdapPbkdf2Sha1(_LdapPbkdf2):
    """LDAP ``{PBKDF2}`` / ``{PBKDF2-SHA1}``: PBKDF2-HMAC-SHA1, 20-byte key (OpenLDAP default 10,000).

    Weakness: not memory-hard; at OpenLDAP's 10,000 iterations roughly 10^6 guesses/s per GPU.
    """

    name = "ldap_pbkdf2_sha1"
    prefixes = ("{PBKDF2}", "{PBKDF2-SHA1}")
    digest = "sha1"


class LdapPbkdf2Sha256(_LdapPbkdf2):
    """LDAP ``{PBKDF2-SHA256}``: PBKDF2-HMAC-SHA256, 32-byte key (OpenLDAP default 10,000 iterations).

    Weakness: not memory-hard; at 10,000 iterations roughly 10^5..10^6 guesses/s per GPU.
    """

    name = "ldap_pbkdf2_sha256"
    prefixes = ("{PBKDF2-SHA256}",)
    digest = "sha256"


class LdapPbkdf2Sha512(_LdapPbkdf2):
    """LDAP ``{PBKDF2-SHA512}``: PBKDF2-HMAC-SHA512, 64-byte key (OpenLDAP default 10,000 iterations).

    Weakness: not memory-hard; at 10,000 iterations roughly 10^5 guesses/s per GPU.
    """

    name = "ldap_pbkdf2_sha512"
    prefixes = ("{PBKDF2-SHA512}",)
    digest = "sha512"


class AtlassianPbkdf2(LegacyScheme):
    """Atlassian (Jira, Confluence, Crowd) ``{PKCS5S2}``: base64(16-byte salt + PBKDF2-HMAC-SHA1 key).

    Weakness: a fixed 10,000 iterations of PBKDF2-HMAC-SHA1: roughly 10^6 guesses/s per GPU.

    Atlassian's ``PKCS5S2PasswordEncoder``: 10,000 iterations, a 32-byte derived key. The tag is
    matched as Atlassian writes it (upper case).
    """

    name = "atlassian_pbkdf2"
    prefixes = ("{PKCS5S2}",)
    iterations: ClassVar[int] = 10_000

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        decoded = b64decode_canonical(stored.removeprefix("{PKCS5S2}"))
        if not stored.startswith("{PKCS5S2}") or decoded is None or len(decoded) != 48:
            return "malformed_hash"
        salt, expected = decoded[:16], decoded[16:]
        actual = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, self.iterations, 32)
        return outcome(equal(actual, expected))
