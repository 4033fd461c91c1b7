"""Bare hex digests: ``H(password)``, or ``H(salt + password)`` / ``H(password + salt)``.

Home-grown PHP and Java sites stored these, the salt (if any) in a column of its own and/or a
site-wide constant. The salt is ``context.salt + context.site_salt`` (either may be absent) and
goes before or after the password as ``context.salt_position`` says. Identified by length (32, 40,
64, 128 hex characters, any case) when no scheme is named; a lower-case 32-hex value is
``moodle_md5`` instead when the context has a site salt.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import equal, is_hex, outcome


class _HexDigest(LegacyScheme):
    digest: ClassVar[str]
    length: ClassVar[int]
    uses_salt = True
    uses_site_salt = True
    has_work_factor = False

    def identifies(self, stored: str, context: HashContext) -> bool:
        return is_hex(stored, self.length)

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        if not is_hex(stored, self.length):
            return "malformed_hash"
        salt = (context.salt or "") + (context.site_salt or "")
        material = salt + password if context.salt_position == "before" else password + salt
        try:
            data = material.encode("utf-8")
        except UnicodeEncodeError:  # the password encodes (the registry checked), so the salt does not
            return "malformed_hash"
        actual = hashlib.new(self.digest, data).hexdigest()
        return outcome(equal(actual.encode("ascii"), stored.lower().encode("ascii")))


class Md5Hex(_HexDigest):
    """32 hex characters: MD5 of the password, optionally salted from the context.

    Weakness: a single MD5: roughly 10^11 guesses/s per GPU, and unsalted values fall to
    precomputed tables instantly (md5 of common passwords is a web search away). Force a reset in
    the portal.
    """

    name = "md5_hex"
    identification = "32 hex characters, any case (lower case with a site_salt: moodle_md5)"
    samples = ("5F4DCC3B5AA765D61D8327DEB882CF99", "5f4dcc3b5aa765d61d8327deb882cf99")
    digest = "md5"
    length = 32

    def identifies(self, stored: str, context: HashContext) -> bool:
        if context.site_salt is not None and is_hex(stored, 32, lower_only=True):
            return False  # moodle_md5's
        return is_hex(stored, 32)


class Sha1Hex(_HexDigest):
    """40 hex characters: SHA-1 of the password, optionally salted from the context.

    Weakness: a single SHA-1: roughly 10^10 guesses/s per GPU; unsalted values fall to
    precomputed tables. Force a reset in the portal.
    """

    name = "sha1_hex"
    identification = "40 hex characters, any case"
    samples = ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",)
    digest = "sha1"
    length = 40


class Sha256Hex(_HexDigest):
    """64 hex characters: SHA-256 of the password, optionally salted from the context.

    Weakness: a single SHA-256: roughly 10^10 guesses/s per GPU; unsalted values fall to
    precomputed tables. Force a reset in the portal.
    """

    name = "sha256_hex"
    identification = "64 hex characters, any case"
    samples = ("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",)
    digest = "sha256"
    length = 64


class Sha512Hex(_HexDigest):
    """128 hex characters: SHA-512 of the password, optionally salted from the context.

    Weakness: a single SHA-512: roughly 10^9 guesses/s per GPU; unsalted values fall to
    precomputed tables. Force a reset in the portal.
    """

    name = "sha512_hex"
    identification = "128 hex characters, any case"
    samples = (
        "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86",
    )
    digest = "sha512"
    length = 128
