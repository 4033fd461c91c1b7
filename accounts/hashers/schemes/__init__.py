"""One small verifier per legacy hash format, grouped by the software that wrote it.

Each verifier parses the stored value strictly before any hashing, so a broken row yields
``malformed_hash`` instead of an exception, and refuses a work factor above its ceiling
(``unsupported_scheme``) so that one odd row cannot hold a worker for minutes or days. The
ceilings keep a single verification to a few seconds on a 2024 server core; no deployment we know
of comes near them.

Guess rates in the docstrings are rough orders of magnitude for one current high-end GPU running
hashcat; they are there to rank the schemes, not to plan an attack.

Modules: ``unix`` (crypt(3) family, phpass, Argon2), ``django_formats``, ``php_apps`` (WordPress,
Drupal, phpBB, Joomla, Moodle), ``mediawiki``, ``ldap`` (RFC 2307 tags, Atlassian), ``aspnet``,
``hex_digests``. To add a scheme: write a ``LegacyScheme`` subclass in the right module and append
it to ``SCHEMES``.
"""

from __future__ import annotations

from ..base import LegacyScheme
from ._common import PBKDF2_MAX_WORK
from .aspnet import AspnetIdentityV2, AspnetIdentityV3
from .django_formats import (
    DjangoArgon2,
    DjangoBcryptSha256,
    DjangoPbkdf2Sha1,
    DjangoPbkdf2Sha256,
    DjangoScrypt,
    _DjangoPbkdf2,
)
from .hex_digests import Md5Hex, Sha1Hex, Sha256Hex, Sha512Hex, _HexDigest
from .ldap import (
    AtlassianPbkdf2,
    LdapCrypt,
    LdapMd5,
    LdapPbkdf2Sha1,
    LdapPbkdf2Sha256,
    LdapPbkdf2Sha512,
    LdapSha,
    LdapSmd5,
    LdapSsha,
    LdapSsha256,
    LdapSsha512,
    _LdapPbkdf2,
)
from .mediawiki import MediawikiA, MediawikiB, MediawikiPbkdf2
from .php_apps import Drupal7, Drupal7UpgradedMd5, JoomlaMd5, MoodleMd5, Phpbb3, WordpressBcrypt
from .unix import Apr1, Argon2, Bcrypt, Md5Crypt, PhpassPortable, Sha256Crypt, Sha512Crypt

#: Every registered scheme, in no particular order; the registry instantiates each once.
SCHEMES: tuple[type[LegacyScheme], ...] = (
    # crypt(3) family, phpass, Argon2
    Bcrypt,
    PhpassPortable,
    Md5Crypt,
    Apr1,
    Sha256Crypt,
    Sha512Crypt,
    Argon2,
    # Django
    DjangoPbkdf2Sha256,
    DjangoPbkdf2Sha1,
    DjangoArgon2,
    DjangoBcryptSha256,
    DjangoScrypt,
    # PHP applications
    WordpressBcrypt,
    Drupal7,
    Drupal7UpgradedMd5,
    Phpbb3,
    JoomlaMd5,
    MoodleMd5,
    # MediaWiki
    MediawikiPbkdf2,
    MediawikiB,
    MediawikiA,
    # LDAP and Atlassian
    LdapSsha,
    LdapSsha256,
    LdapSsha512,
    LdapSha,
    LdapMd5,
    LdapSmd5,
    LdapCrypt,
    LdapPbkdf2Sha1,
    LdapPbkdf2Sha256,
    LdapPbkdf2Sha512,
    AtlassianPbkdf2,
    # ASP.NET Identity
    AspnetIdentityV2,
    AspnetIdentityV3,
    # Bare hex digests
    Md5Hex,
    Sha1Hex,
    Sha256Hex,
    Sha512Hex,
)

__all__ = [
    "PBKDF2_MAX_WORK",
    "SCHEMES",
    "Apr1",
    "Argon2",
    "AspnetIdentityV2",
    "AspnetIdentityV3",
    "AtlassianPbkdf2",
    "Bcrypt",
    "DjangoArgon2",
    "DjangoBcryptSha256",
    "DjangoPbkdf2Sha1",
    "DjangoPbkdf2Sha256",
    "DjangoScrypt",
    "Drupal7",
    "Drupal7UpgradedMd5",
    "JoomlaMd5",
    "LdapCrypt",
    "LdapMd5",
    "LdapPbkdf2Sha1",
    "LdapPbkdf2Sha256",
    "LdapPbkdf2Sha512",
    "LdapSha",
    "LdapSmd5",
    "LdapSsha",
    "LdapSsha256",
    "LdapSsha512",
    "Md5Crypt",
    "Md5Hex",
    "MediawikiA",
    "MediawikiB",
    "MediawikiPbkdf2",
    "MoodleMd5",
    "PhpassPortable",
    "Phpbb3",
    "Sha1Hex",
    "Sha256Crypt",
    "Sha256Hex",
    "Sha512Crypt",
    "Sha512Hex",
    "WordpressBcrypt",
    "_DjangoPbkdf2",
    "_HexDigest",
    "_LdapPbkdf2",
]
