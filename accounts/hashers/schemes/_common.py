"""Helpers shared by the scheme modules: strict decoders, constant-time comparison, PBKDF2 budget."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from ..base import Outcome

# The crypt(3) / phpass alphabet, in phpass's order (the index of a character is its value).
ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
H64 = "[./0-9A-Za-z]"

#: A positive decimal integer as software writes one: no sign, no leading zero, ASCII digits only
#: (``int()`` alone would accept "+1", " 1", "1_0" and Arabic-Indic digits).
CANONICAL_INT = re.compile(r"[1-9][0-9]{0,9}", re.ASCII)

_HEX = re.compile(r"[0-9a-fA-F]*", re.ASCII)
_LOWER_HEX = re.compile(r"[0-9a-f]*", re.ASCII)

#: PBKDF2 budget, in SHA-1/SHA-256 block computations: about 3.5 s on a 2024 server core
#: (SHA-512 blocks count double). The schemes below check a stored value against it before hashing.
PBKDF2_MAX_WORK = 10_000_000


def outcome(matched: bool) -> Outcome:
    return "ok" if matched else "mismatch"


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison (for equal lengths; a length difference is not a secret here)."""
    return hmac.compare_digest(a, b)


def is_hex(text: str, length: int, *, lower_only: bool = False) -> bool:
    pattern = _LOWER_HEX if lower_only else _HEX
    return len(text) == length and pattern.fullmatch(text) is not None


def b64decode_canonical(text: str) -> bytes | None:
    """Standard padded base64 that re-encodes to exactly ``text``, or ``None``.

    Refusing non-canonical encodings (stray bits in the last character, missing padding,
    whitespace) keeps one hash from having several spellings and catches corrupted rows.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode("ascii") == text else None


def ab64decode_canonical(text: str) -> bytes | None:
    """passlib's / OpenLDAP's "adapted base64" ('.' for '+', no padding), canonical, or ``None``."""
    if "+" in text or "=" in text or len(text) % 4 == 1:
        return None
    return b64decode_canonical(text.replace(".", "+") + "=" * (-len(text) % 4))


def hash64_encode(data: bytes) -> str:
    """phpass's / Drupal's ``_password_base64_encode`` (little-endian groups of 6 bits)."""
    out = []
    count = len(data)
    i = 0
    while i < count:
        value = data[i]
        i += 1
        out.append(ITOA64[value & 0x3F])
        if i < count:
            value |= data[i] << 8
        out.append(ITOA64[(value >> 6) & 0x3F])
        if i >= count:
            break
        i += 1
        if i < count:
            value |= data[i] << 16
        out.append(ITOA64[(value >> 12) & 0x3F])
        if i >= count:
            break
        i += 1
        out.append(ITOA64[(value >> 18) & 0x3F])
    return "".join(out)


def pbkdf2_work(digest: str, iterations: int, dklen: int) -> int:
    """PBKDF2's cost in :data:`PBKDF2_MAX_WORK` units: iterations times output blocks."""
    size = hashlib.new(digest).digest_size
    blocks = -(-dklen // size)
    return iterations * blocks * (2 if size > 32 else 1)


def md5_hex(text: str) -> str:
    """PHP's ``md5($text)``: lower-case hex of the MD5 of the UTF-8 bytes."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - the legacy format is MD5
