"""Formats of PHP applications: WordPress 6.8+, Drupal 7, phpBB 3, Joomla 1.x-3.1, Moodle 1.x-2.4."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import H64, ITOA64, equal, hash64_encode, is_hex, md5_hex, outcome
from .unix import Argon2, Bcrypt, PhpassPortable, bcrypt_problem, bcrypt_verify

_PHPASS = PhpassPortable()
_BCRYPT = Bcrypt()
_ARGON2 = Argon2()


class WordpressBcrypt(LegacyScheme):
    """WordPress 6.8+ ``$wp$2y$...``: bcrypt over base64(HMAC-SHA384(key "wp-sha384", password)).

    Weakness: as bcrypt at WordPress's cost (PHP's default, 10 before PHP 8.4, 12 after): roughly
    10^3..10^4 guesses/s per GPU. The HMAC pre-hash lifts bcrypt's 72-byte limit; it adds no work.

    WordPress's ``wp_hash_password`` (wp-includes/pluggable.php, 6.8): ``'$wp' . password_hash(
    base64_encode(hash_hmac('sha384', trim($password), 'wp-sha384', true)), PASSWORD_BCRYPT)``;
    ``wp_authenticate`` trims the typed password before ``wp_check_password`` strips the ``$wp``.
    So the password is always trimmed here (PHP ``trim()``: space, tab, LF, CR, VT). A password of
    more than 4096 bytes never matches (``wp_check_password`` refuses it).
    """

    name = "wordpress_bcrypt"
    prefixes = ("$wp$",)
    always_trims = True
    max_password_bytes: ClassVar[int] = 4096

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not stored.startswith("$wp$"):
            return "malformed_hash"
        secret = password.encode("utf-8")
        bcrypt_hash = stored[len("$wp") :]
        problem = bcrypt_problem(bcrypt_hash)
        if problem is not None:
            return problem
        if len(secret) > self.max_password_bytes:
            return "mismatch"
        prehash = base64.b64encode(hmac.new(b"wp-sha384", secret, hashlib.sha384).digest())
        return bcrypt_verify(prehash, bcrypt_hash)


class Drupal7(LegacyScheme):
    """Drupal 7 ``$S$``: 2^n iterations of SHA-512 over salt and password, phpass-style encoding.

    Weakness: not memory-hard; at Drupal's default 2^15 iterations, roughly 10^4..10^5 guesses/s
    per GPU. Better than phpass MD5 but far from bcrypt.

    Drupal 7's ``_password_crypt('sha512', ...)`` (includes/password.inc): ``hash = sha512(salt .
    password)``, then 2^n times ``hash = sha512(hash . password)``, encoded with
    ``_password_base64_encode`` and cut to 55 characters. Drupal 7 also accepts phpass ``$P$`` and
    ``$H$`` hashes (imported users); with ``scheme="drupal7"`` those are checked as phpass too.
    Passwords of more than 512 bytes never match (Drupal refuses to hash them).
    """

    name = "drupal7"
    prefixes = ("$S$",)
    #: 2^22 SHA-512 iterations in Python, about 3 s.
    max_log2_rounds: ClassVar[int] = 22
    max_password_bytes: ClassVar[int] = 512

    _shape = re.compile(rf"\$S\$({H64})({H64}{{8}}){H64}{{43}}", re.ASCII)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        return self.check_secret(password.encode("utf-8"), password, stored)

    def check_secret(self, secret: bytes, password: str, stored: str) -> Outcome:
        if stored.startswith(("$P$", "$H$")):
            if _PHPASS._shape.fullmatch(stored) is None:
                return "malformed_hash"
            return (
                "mismatch"
                if len(secret) > self.max_password_bytes
                else _PHPASS.check(password, stored, HashContext())
            )
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        log2_rounds = ITOA64.index(match.group(1))
        if not 7 <= log2_rounds <= 30:  # DRUPAL_MIN_HASH_COUNT, DRUPAL_MAX_HASH_COUNT
            return "malformed_hash"
        if log2_rounds > self.max_log2_rounds:
            return "unsupported_scheme"
        if len(secret) > self.max_password_bytes:
            return "mismatch"
        digest = hashlib.sha512(match.group(2).encode("ascii") + secret).digest()
        for _ in range(1 << log2_rounds):
            digest = hashlib.sha512(digest + secret).digest()
        computed = stored[:12] + hash64_encode(digest)[:43]
        return outcome(equal(computed.encode("ascii"), stored.encode("ascii")))


class Drupal7UpgradedMd5(LegacyScheme):
    """Drupal 7 ``U$S$...``: a Drupal 6 ``md5(password)`` re-hashed with ``$S$`` by the 7.x upgrade.

    Weakness: as ``drupal7`` (roughly 10^4..10^5 guesses/s per GPU), but anyone holding the
    Drupal 6 database's unsalted MD5 of the password can log in with it, and such dumps circulate.

    Drupal 7's ``user_check_password``: a leading ``U`` means "verify ``md5(password)`` (lower-case
    hex) against the rest", which is ``$S$`` after ``user_update_7000`` (or ``$P$``/``$H$`` for
    hashes imported into Drupal 6 and upgraded the same way).
    """

    name = "drupal7_upgraded_md5"
    prefixes = ("U$S$", "U$P$", "U$H$")

    _drupal7 = Drupal7()

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not stored.startswith("U$"):
            return "malformed_hash"
        prehashed = md5_hex(password)
        return self._drupal7.check_secret(prehashed.encode("ascii"), prehashed, stored[1:])


class Phpbb3(LegacyScheme):
    """phpBB 3.x, every form its password manager stores (``phpbb/passwords/manager.php``).

    Weakness: depends on the row. ``$H$`` (phpBB 3.0, phpass MD5 at 2^11: roughly 10^7 guesses/s
    per GPU) and ``$CP$`` (phpBB 2 unsalted MD5 kept for conversion: instant) are weak and should
    be reset in the portal; ``$2y$`` bcrypt (3.1+) and ``$argon2i$``/``$argon2id$`` (3.3) are
    strong. A bare 32-hex MD5 (the 3.0 installer's admin) is as weak as ``md5_hex``.

    Identified by format only for ``$CP$``, which no other software writes; the other forms are
    identified as ``phpass``, ``bcrypt`` and ``argon2``, and checked the same way when a mapping
    names ``phpbb3``. ``$CP$`` wraps a phpBB 2 value: 32-hex ``md5(password)``, or a 34-character
    ``$H$`` over that MD5 hex. phpBB also tries ``md5(utf8_to_cp1252(password))`` for boards that
    ran in Latin-1 and applies ``addslashes`` for old magic-quotes boards; both re-encode what the
    user typed, which DECISIONS.md forbids, so such users must reset their password. Combined
    hashes (``$2y\\H$...``, made only by explicit conversions) and phpBB's converter-only
    drivers (``$wcf2$``, ``$smf$``, ...) are not supported. phpBB has no ``$bcrypt$`` prefix.
    """

    name = "phpbb3"
    prefixes = ("$CP$",)
    identification = "prefix $CP$; $H$, $2y$, $argon2...$ and bare MD5 only with scheme='phpbb3'"
    has_work_factor = False  # the forms identified as phpbb3 ($CP$) are single MD5s
    max_password_bytes: ClassVar[int] = 4096

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if len(password.encode("utf-8")) > self.max_password_bytes:  # the manager refuses these
            return "mismatch"
        if stored.startswith("$CP$"):
            inner = stored[4:]
            if is_hex(inner, 32, lower_only=True):
                return outcome(equal(md5_hex(password).encode("ascii"), inner.encode("ascii")))
            if inner.startswith("$H$") and len(inner) == 34:
                return _PHPASS.check(md5_hex(password), inner, context)
            return "malformed_hash"
        if stored.startswith(("$H$", "$P$")):
            return _PHPASS.check(password, stored, context)
        if stored.startswith(("$2a$", "$2y$", "$2b$")):
            return _BCRYPT.check(password, stored, context)
        if stored.startswith(("$argon2i$", "$argon2id$")):
            return _ARGON2.check(password, stored, context)
        if is_hex(stored, 32, lower_only=True):
            return outcome(equal(md5_hex(password).encode("ascii"), stored.encode("ascii")))
        return "malformed_hash"


class JoomlaMd5(LegacyScheme):
    """Joomla 1.0-3.1 ``<md5 hex>:<salt>``: ``md5(password . salt)`` with a 16-32 character salt.

    Weakness: a single salted MD5: roughly 10^10..10^11 guesses/s per GPU. Force a reset in the portal.

    Joomla's ``JUserHelper::getCryptedPassword($password, $salt, 'md5-hex')`` and the check in
    ``verifyPassword`` (the value is split at ':'); ``md5hex`` without a salt is plain ``md5_hex``,
    which Joomla also accepts and which ``scheme="joomla_md5"`` checks too. Joomla 3.2+ writes
    bcrypt ``$2y$`` (the ``bcrypt`` scheme) and ``{SHA256}`` (not supported).
    """

    name = "joomla_md5"
    identification = "32 lower-case hex, ':', then a salt of 1-64 characters from [A-Za-z0-9./]"
    samples = ("5f4dcc3b5aa765d61d8327deb882cf99:Q7Xh0bP9DmNfH2cZ",)
    has_work_factor = False

    _shape = re.compile(r"([0-9a-f]{32})(?::([^:]+))?", re.ASCII)
    _identified = re.compile(r"[0-9a-f]{32}:[A-Za-z0-9./]{1,64}", re.ASCII)

    def identifies(self, stored: str, context: HashContext) -> bool:
        return self._identified.fullmatch(stored) is not None

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        match = self._shape.fullmatch(stored)
        if match is None:
            return "malformed_hash"
        expected, salt = match.group(1), match.group(2) or ""
        try:
            computed = md5_hex(password + salt)
        except UnicodeEncodeError:
            return "malformed_hash"
        return outcome(equal(computed.encode("ascii"), expected.encode("ascii")))


class MoodleMd5(LegacyScheme):
    """Moodle before 2.5: ``md5(password . $CFG->passwordsaltmain)`` as 32 lower-case hex.

    Weakness: a single MD5 with one salt for the whole site (and none on sites that never set it):
    roughly 10^10 guesses/s per GPU, and one precomputation covers every account. Force a reset.

    Moodle's ``validate_internal_user_password`` (lib/moodlelib.php) accepts ``md5(password .
    site_salt)`` and ``md5(password)``; both are tried here (so, as in Moodle, the password followed
    by the site salt is accepted too). It also tries ``addslashes(password)``
    (magic-quotes era) and up to 20 ``passwordsaltalt`` salts: the former re-encodes what the user
    typed (forbidden by DECISIONS.md), the latter needs several site salts, which a HashContext
    does not carry; users affected must reset their password. Needs ``site_salt`` in the context
    or an explicit scheme: a bare 32-hex value without a site salt is identified as ``md5_hex``.
    """

    name = "moodle_md5"
    identification = "32 lower-case hex when the context has a site_salt (otherwise md5_hex)"
    samples = ("5f4dcc3b5aa765d61d8327deb882cf99",)
    needs_site_salt = True
    has_work_factor = False

    def identifies(self, stored: str, context: HashContext) -> bool:
        return context.site_salt is not None and is_hex(stored, 32, lower_only=True)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not is_hex(stored, 32, lower_only=True):
            return "malformed_hash"
        try:
            salted = md5_hex(password + (context.site_salt or ""))
        except UnicodeEncodeError:
            return "malformed_hash"
        unsalted = md5_hex(password)
        expected = stored.encode("ascii")
        # Both comparisons always run, so timing does not say which form the row has.
        matches = [equal(salted.encode("ascii"), expected), equal(unsalted.encode("ascii"), expected)]
        return outcome(any(matches))
