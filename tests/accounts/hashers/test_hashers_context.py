"""HashContext: salts from columns and configuration, salt position, trimming; and the hex digests."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from passlib import hash as passlib_hash  # type: ignore[import-untyped]

from accounts.hashers import HashContext, Verification, identify_scheme, verify_password

UPASS_TABLE = "t\u00e1\u0411\u2113\u0259"

# passlib's test_handlers.py hex_* vectors.
KNOWN_ANSWERS = [
    ("password", "5f4dcc3b5aa765d61d8327deb882cf99", "md5_hex"),
    (UPASS_TABLE, "05473f8a19f66815e737b33264a0d0b0", "md5_hex"),
    ("password", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "sha1_hex"),
    (UPASS_TABLE, "e059b2628e3a3e2de095679de9822c1d1466e0f0", "sha1_hex"),
    ("password", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "sha256_hex"),
    (UPASS_TABLE, "6ed729e19bf24d3d20f564375820819932029df05547116cfc2cc868a27b4493", "sha256_hex"),
    (
        "password",
        "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86",
        "sha512_hex",
    ),
    (
        UPASS_TABLE,
        "d91bb0a23d66dca07a1781fd63ae6a05f6919ee5fc368049f350c9f293b078a18165d66097cf0d89fdfbeed1ad6e7dba2344e57348cd6d51308c843a06f29caf",
        "sha512_hex",
    ),
]


@pytest.mark.parametrize(("password", "stored", "scheme"), KNOWN_ANSWERS)
def test_hex_known_answers(password: str, stored: str, scheme: str) -> None:
    handler = getattr(passlib_hash, "hex_" + scheme.removesuffix("_hex"))
    assert handler.verify(password, stored)
    for spelled in [stored, stored.upper()]:
        assert identify_scheme(spelled) == scheme
        assert verify_password(password, spelled) == Verification(True, scheme, "ok")
        assert verify_password(password + "x", spelled) == Verification(False, scheme, "mismatch")


DIGESTS = {"md5_hex": "md5", "sha1_hex": "sha1", "sha256_hex": "sha256", "sha512_hex": "sha512"}


@settings(max_examples=60, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
    scheme=st.sampled_from(sorted(DIGESTS)),
    salt=st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=20)),
    site_salt=st.one_of(st.none(), st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)),
    position=st.sampled_from(["before", "after"]),
)
def test_salted_hex_is_salt_then_site_salt_before_or_after(
    password: str, scheme: str, salt: str | None, site_salt: str | None, position: str
) -> None:
    combined = (salt or "") + (site_salt or "")
    material = combined + password if position == "before" else password + combined
    stored = hashlib.new(DIGESTS[scheme], material.encode()).hexdigest()
    context = HashContext(salt=salt, site_salt=site_salt, salt_position=position)  # type: ignore[arg-type]
    assert verify_password(password, stored, scheme=scheme, context=context) == Verification(
        True, scheme, "ok"
    )
    assert verify_password(password + "x", stored, scheme=scheme, context=context).reason == "mismatch"


def test_salt_keyword_fills_and_overrides_the_context_salt() -> None:
    stored = hashlib.sha1(b"passwordcolumn-salt").hexdigest()
    assert verify_password("password", stored, salt="column-salt").ok
    assert verify_password("password", stored, context=HashContext(salt="column-salt")).ok
    assert verify_password("password", stored, salt="column-salt", context=HashContext(salt="other")).ok
    assert not verify_password("password", stored, context=HashContext(salt="other")).ok
    before = hashlib.sha1(b"column-saltpassword").hexdigest()
    assert verify_password(
        "password", before, salt="column-salt", context=HashContext(salt_position="before")
    ).ok


def test_hashcontext_defaults_and_validation() -> None:
    context = HashContext()
    assert (context.salt, context.site_salt, context.salt_position, context.trim_whitespace) == (
        None,
        None,
        "after",
        False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.salt = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="salt_position"):
        HashContext(salt_position="middle")  # type: ignore[arg-type]


def test_a_context_of_the_wrong_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="HashContext"):
        verify_password("password", "5f4dcc3b5aa765d61d8327deb882cf99", context={"salt": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["salt", "site_salt"])
@pytest.mark.parametrize("value", [b"salt", 1234, ["salt"]])
def test_a_salt_that_is_not_text_is_a_broken_row(field: str, value: object) -> None:
    context = HashContext(**{field: value})  # type: ignore[arg-type]
    result = verify_password("password", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", context=context)
    assert result == Verification(False, "sha1_hex", "malformed_hash")


def test_a_salt_that_cannot_be_encoded_is_a_broken_row() -> None:
    result = verify_password("password", "5f4dcc3b5aa765d61d8327deb882cf99", salt="\udc80")
    assert result == Verification(False, "md5_hex", "malformed_hash")


def test_stored_and_password_of_other_types_are_refused_not_raised() -> None:
    assert verify_password("password", b"5f4dcc3b5aa765d61d8327deb882cf99") == Verification(  # type: ignore[arg-type]
        False, None, "no_hash"
    )
    assert verify_password(None, "5f4dcc3b5aa765d61d8327deb882cf99") == Verification(  # type: ignore[arg-type]
        False, "md5_hex", "empty_password"
    )
    assert verify_password(b"password", "5f4dcc3b5aa765d61d8327deb882cf99") == Verification(  # type: ignore[arg-type]
        False, "md5_hex", "mismatch"
    )
    assert identify_scheme(None) is None  # type: ignore[arg-type]


def test_trim_whitespace_strips_only_phps_characters_from_both_ends() -> None:
    stored = hashlib.md5(b"pass word").hexdigest()
    trimming = HashContext(trim_whitespace=True)
    assert verify_password(" \t\n\r\x0bpass word\x0b\r\n\t ", stored, context=trimming).ok
    assert verify_password("pass  word", stored, context=trimming).reason == "mismatch"
    assert verify_password("\u00a0pass word", stored, context=trimming).reason == "mismatch"
    assert verify_password(" pass word", stored).reason == "mismatch"  # no trimming without the flag


def test_hex_values_of_other_lengths_or_alphabets_are_malformed_when_named() -> None:
    for stored in [
        "5f4dcc3b5aa765d61d8327deb882cf9",
        "5f4dcc3b5aa765d61d8327deb882cf9z",
        " 5f4dcc3b5aa765d61d8327deb882cf9",
    ]:
        assert verify_password("password", stored, scheme="md5_hex") == Verification(
            False, "md5_hex", "malformed_hash"
        )
    # Unicode digits pass str.isdigit() and int(), not a hex check.
    arabic = "\u0665" + "f4dcc3b5aa765d61d8327deb882cf99"
    assert verify_password("password", arabic, scheme="md5_hex").reason == "malformed_hash"
    assert identify_scheme(arabic) is None
