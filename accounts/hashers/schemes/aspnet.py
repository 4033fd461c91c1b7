"""ASP.NET Identity's ``PasswordHasher`` formats (Microsoft.AspNetCore.Identity, Identity 2.x).

Both are one base64 string whose first decoded byte is the format marker. The reference is
``PasswordHasher.VerifyHashedPasswordV2``/``V3`` in dotnet/aspnetcore (src/Identity/Extensions.Core).
.NET derives keys from the UTF-8 bytes of the password.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from ..base import HashContext, LegacyScheme, Outcome
from ._common import PBKDF2_MAX_WORK, b64decode_canonical, equal, outcome, pbkdf2_work


class AspnetIdentityV2(LegacyScheme):
    """ASP.NET Identity v2: base64(0x00, 16-byte salt, 32-byte PBKDF2-HMAC-SHA1 key, 1000 iterations).

    Weakness: only 1000 iterations of PBKDF2-HMAC-SHA1 (``Rfc2898DeriveBytes``' default): roughly
    10^7 guesses/s per GPU. Force a reset in the portal.

    Identified only by its exact shape (68 base64 characters decoding to 49 bytes that start with
    0x00); a damaged v2 value is ``unknown_format`` unless the mapping names ``aspnet_identity_v2``.
    """

    name = "aspnet_identity_v2"
    identification = "68 base64 characters decoding to 49 bytes whose first byte is 0x00"
    samples = ("AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJg==",)

    _shape = re.compile(r"A[A-P][A-Za-z0-9+/]{64}==", re.ASCII)

    def identifies(self, stored: str, context: HashContext) -> bool:
        return self._shape.fullmatch(stored) is not None and self._decode(stored) is not None

    @staticmethod
    def _decode(stored: str) -> bytes | None:
        decoded = b64decode_canonical(stored)
        return decoded if decoded is not None and len(decoded) == 49 and decoded[0] == 0 else None

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        decoded = self._decode(stored)
        if decoded is None:
            return "malformed_hash"
        salt, expected = decoded[1:17], decoded[17:]
        actual = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, 1000, 32)
        return outcome(equal(actual, expected))


class AspnetIdentityV3(LegacyScheme):
    """ASP.NET Core Identity v3: base64(0x01, PRF, iterations, salt length, salt, PBKDF2 key).

    Weakness: not memory-hard. ASP.NET Core 2.x-6 wrote HMAC-SHA256 with 10,000 iterations
    (roughly 10^5..10^6 guesses/s per GPU), .NET 7+ HMAC-SHA512 with 100,000 (roughly 10^4).

    The header is three big-endian 32-bit integers: PRF (0 SHA-1, 1 SHA-256, 2 SHA-512),
    iteration count, salt length (at least 16); the rest is the key (at least 16 bytes). Keys of
    more than 64 bytes and salts of more than 1024 are refused, as is PBKDF2 work beyond the shared
    budget (about 3.5 s).
    """

    name = "aspnet_identity_v3"
    prefixes = ("AQAAAA",)
    identification = "prefix AQAAAA (base64 of the 0x01 marker and the PRF's leading zero bytes)"
    max_work: ClassVar[int] = PBKDF2_MAX_WORK

    _prfs = {0: "sha1", 1: "sha256", 2: "sha512"}

    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        decoded = b64decode_canonical(stored)
        if decoded is None or len(decoded) < 13 or decoded[0] != 1:
            return "malformed_hash"
        prf = int.from_bytes(decoded[1:5], "big")
        iterations = int.from_bytes(decoded[5:9], "big")
        salt_length = int.from_bytes(decoded[9:13], "big")
        digest = self._prfs.get(prf)
        key_length = len(decoded) - 13 - salt_length
        if digest is None or not 1 <= iterations <= 2**31 - 1:
            return "malformed_hash"
        if not 16 <= salt_length <= 1024 or not 16 <= key_length <= 64:
            return "malformed_hash"
        if pbkdf2_work(digest, iterations, key_length) > self.max_work:
            return "unsupported_scheme"
        salt, expected = decoded[13 : 13 + salt_length], decoded[13 + salt_length :]
        actual = hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations, key_length)
        return outcome(equal(actual, expected))
