"""Django's ``<algorithm>$...`` formats, verified without Django's ``PASSWORD_HASHERS``.

Legacy schemes stay out of ``PASSWORD_HASHERS`` (the bridge never re-hashes into the legacy
database), so these re-implement Django's ``verify()`` with the same libraries Django uses and the
same strictness: only what Django itself would accept and could have written.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import CANONICAL_INT, b64decode_canonical, equal, outcome
from .unix import argon2_verify, bcrypt_verify


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

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        parts = stored.split("$")
        if len(parts) != 4 or parts[0] != self.algorithm:
            return "malformed_hash"
        _, iterations_text, embedded_salt, encoded = parts
        if CANONICAL_INT.fullmatch(iterations_text) is None or not embedded_salt:
            return "malformed_hash"
        iterations = int(iterations_text)
        try:
            salt_bytes = embedded_salt.encode("utf-8")
        except UnicodeEncodeError:
            return "malformed_hash"
        expected = b64decode_canonical(encoded)
        if expected is None or len(expected) != self.digest_size:
            return "malformed_hash"
        if iterations > self.max_iterations:
            return "unsupported_scheme"
        actual = hashlib.pbkdf2_hmac(self.digest, password.encode("utf-8"), salt_bytes, iterations)
        return outcome(equal(actual, expected))


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


class DjangoArgon2(LegacyScheme):
    """Django ``argon2$``: an Argon2 PHC string behind Django's ``argon2`` tag (Django 1.10+).

    Weakness: memory-hard; Django 4.0+ writes argon2id with 100 MiB and 2 passes (roughly 10^2
    guesses/s per GPU); Django 1.10-3.x wrote argon2i with 512 KiB, which GPUs handle far better.
    Hashes from before argon2-cffi 16 carry no ``v=`` and use Argon2 version 1.0.

    Django's ``Argon2PasswordHasher.verify`` hands ``"$" + rest`` to argon2-cffi, which reads the
    variant from the string; the same is done here, within the ``argon2`` scheme's ceilings.
    """

    name = "django_argon2"
    prefixes = ("argon2$",)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        rest = stored[len("argon2") :]
        if not stored.startswith("argon2$") or not rest.startswith(("$argon2id$", "$argon2i$", "$argon2d$")):
            return "malformed_hash"
        return argon2_verify(password, rest)


class DjangoBcryptSha256(LegacyScheme):
    """Django ``bcrypt_sha256$``: bcrypt over the hex SHA-256 of the password (Django 1.6+).

    Weakness: as bcrypt (roughly 10^3..10^4 guesses/s per GPU at Django's cost 12), without the
    72-byte limit: the whole password counts, through its 64-character SHA-256 hex digest.

    Django's ``BCryptSHA256PasswordHasher``: ``bcrypt(hexlify(sha256(password)), salt)``. Not
    passlib's ``$bcrypt-sha256$`` (an HMAC-based construction), which is a different format.
    """

    name = "django_bcrypt_sha256"
    prefixes = ("bcrypt_sha256$",)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not stored.startswith("bcrypt_sha256$"):
            return "malformed_hash"
        secret = binascii.hexlify(hashlib.sha256(password.encode("utf-8")).digest())
        return bcrypt_verify(secret, stored[len("bcrypt_sha256$") :])


class DjangoScrypt(LegacyScheme):
    """Django ``scrypt$<N>$<salt>$<r>$<p>$<base64 64-byte key>`` (Django 4.0+).

    Weakness: memory-hard; Django's default (N=2^14, r=8, p=1: 16 MiB) keeps a GPU to roughly
    10^3..10^4 guesses/s. A lower N in an old row weakens it in proportion.

    Django's ``ScryptPasswordHasher``: ``hashlib.scrypt(password, salt, n, r, p, dklen=64)``.
    Ceilings: N at most 2^20, 128*N*r at most 256 MiB, and N*r*p at most 2^23 (64 times Django's
    default work, a few seconds).
    """

    name = "django_scrypt"
    prefixes = ("scrypt$",)
    max_memory_bytes: ClassVar[int] = 256 * 1024 * 1024
    max_work: ClassVar[int] = 2**23

    _small_int = re.compile(r"[1-9][0-9]{0,7}", re.ASCII)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        parts = stored.split("$")
        if len(parts) != 6 or parts[0] != "scrypt":
            return "malformed_hash"
        _, n_text, salt, r_text, p_text, encoded = parts
        if not all(self._small_int.fullmatch(t) for t in (n_text, r_text, p_text)) or not salt:
            return "malformed_hash"
        n, r, p = int(n_text), int(r_text), int(p_text)
        if n < 2 or n & (n - 1):  # scrypt requires a power of two above 1
            return "malformed_hash"
        expected = b64decode_canonical(encoded)
        if expected is None or len(expected) != 64:
            return "malformed_hash"
        try:
            salt_bytes = salt.encode("utf-8")
        except UnicodeEncodeError:
            return "malformed_hash"
        memory = 128 * r * (n + p + 2)
        if n > 2**20 or memory > self.max_memory_bytes or n * r * p > self.max_work:
            return "unsupported_scheme"
        try:
            actual = hashlib.scrypt(
                password.encode("utf-8"), salt=salt_bytes, n=n, r=r, p=p, maxmem=memory + 2**20, dklen=64
            )
        except ValueError:  # OpenSSL refused the parameters (e.g. r*p too large)
            return "malformed_hash"
        return outcome(equal(actual, expected))
