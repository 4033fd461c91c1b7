"""Differential tests against the system's crypt(3) (libxcrypt), a reference the legacy systems used.

libxcrypt is the crypt(3) of current Linux distributions and PHP's bcrypt twin: if it is missing
or too old to know ``$2b$``, these tests are skipped with the reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import verify_password


def _load_crypt() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypt")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    library.crypt.restype = ctypes.c_char_p
    return library


_LIBCRYPT = _load_crypt()


def system_crypt(password: str, setting: str) -> str:
    assert _LIBCRYPT is not None
    result = _LIBCRYPT.crypt(password.encode("utf-8"), setting.encode("ascii"))
    assert result is not None and not result.startswith(b"*"), "crypt(3) refused the setting"
    return bytes(result).decode("ascii")


def _supports(setting: str) -> bool:
    if _LIBCRYPT is None:
        return False
    result = _LIBCRYPT.crypt(b"x", setting.encode("ascii"))
    return result is not None and bytes(result).startswith(setting[:4].encode("ascii"))


needs_bcrypt = pytest.mark.skipif(
    not _supports("$2b$04$abcdefghijklmnopqrstuu"), reason="no crypt(3) with $2b$ (libxcrypt) here"
)
needs_sha512 = pytest.mark.skipif(not _supports("$6$saltsalt"), reason="no crypt(3) with $6$ here")
needs_sha256 = pytest.mark.skipif(not _supports("$5$saltsalt"), reason="no crypt(3) with $5$ here")
needs_md5 = pytest.mark.skipif(not _supports("$1$saltsalt"), reason="no crypt(3) with $1$ here")
needs_des = pytest.mark.skipif(_LIBCRYPT is None, reason="no crypt(3) here")

# Any UTF-8 text without NUL (C strings cannot carry it), 1 to 4 bytes a character; up to 100
# characters, so lengths fall on both sides of 72 bytes and the cut lands inside characters.
utf8_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=100)
HASH64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 22 characters whose last one only has the two bits bcrypt uses, as crypt(3) itself writes them.
bcrypt_salts = st.builds(
    lambda body, last: body + last, st.text(HASH64, min_size=21, max_size=21), st.sampled_from(".Oeu")
)


@needs_bcrypt
@settings(max_examples=80, deadline=None, database=None)
@given(password=utf8_text, salt=bcrypt_salts, ident=st.sampled_from(["$2b$", "$2y$", "$2a$"]))
def test_bcrypt_agrees_with_libxcrypt_around_the_72_byte_limit(password: str, salt: str, ident: str) -> None:
    stored = system_crypt(password, f"{ident}04${salt}")
    assert verify_password(password, stored).ok
    if len(password.encode("utf-8")) > 72:
        # Anything sharing the first 72 bytes is accepted by libxcrypt, so by us too.
        same_prefix = password + "different tail"
        assert system_crypt(same_prefix, stored) == stored
        assert verify_password(same_prefix, stored).ok
    else:
        assert verify_password(password + "x", stored).reason == "mismatch"


@needs_sha512
@settings(max_examples=40, deadline=None, database=None)
@given(
    password=utf8_text,
    salt=st.text(HASH64, min_size=1, max_size=16),
    rounds=st.sampled_from([None, 1000, 1234, 5000]),
)
def test_sha512_crypt_agrees_with_libxcrypt(password: str, salt: str, rounds: int | None) -> None:
    setting = "$6$" + (f"rounds={rounds}$" if rounds is not None else "") + salt
    stored = system_crypt(password, setting)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


@needs_sha256
@settings(max_examples=40, deadline=None, database=None)
@given(
    password=utf8_text,
    salt=st.text(HASH64, min_size=1, max_size=16),
    rounds=st.sampled_from([None, 1000, 1234, 5000]),
)
def test_sha256_crypt_agrees_with_libxcrypt(password: str, salt: str, rounds: int | None) -> None:
    setting = "$5$" + (f"rounds={rounds}$" if rounds is not None else "") + salt
    stored = system_crypt(password, setting)
    assert verify_password(password, stored).ok
    assert verify_password(password + "x", stored).reason == "mismatch"


@needs_md5
@settings(max_examples=40, deadline=None, database=None)
@given(password=utf8_text, salt=st.text(HASH64, min_size=0, max_size=8), wrapped=st.booleans())
def test_md5_crypt_agrees_with_libxcrypt(password: str, salt: str, wrapped: bool) -> None:
    stored = system_crypt(password, "$1$" + salt)
    if wrapped:  # an LDAP userPassword of {CRYPT} + crypt(3) output, as slappasswd -h {CRYPT} writes
        stored = "{CRYPT}" + stored
    result = verify_password(password, stored)
    assert result.ok
    assert result.scheme == ("ldap_crypt" if wrapped else "md5_crypt")
    assert verify_password(password + "x", stored).reason == "mismatch"


@needs_des
def test_des_crypt_is_refused_even_where_crypt3_accepts_it() -> None:
    """Traditional DES crypt keeps only 8 characters: libxcrypt accepts "passwordXYZ", we refuse all."""
    stored = system_crypt("password", "ab")
    assert system_crypt("passwordXYZ", stored) == stored
    assert verify_password("password", "{CRYPT}" + stored).reason == "unsupported_scheme"
    assert verify_password("password", stored).reason == "unknown_format"
