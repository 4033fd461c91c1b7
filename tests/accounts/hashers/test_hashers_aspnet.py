"""ASP.NET Identity v2 and v3: dotnet/aspnetcore's PasswordHasherTest vectors and failure cases."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.hashers import Verification, identify_scheme, verify_password
from accounts.hashers.schemes import AspnetIdentityV3
from tests.accounts.hashers import references as ref

# dotnet/aspnetcore src/Identity/test/Identity.Test/PasswordHasherTest.cs, all of "my password".
PASSWORD = "my password"
KNOWN_ANSWERS = [
    ("AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJg==", "aspnet_identity_v2"),
    ("AQAAAAAAAAD6AAAAEAhftMyfTJylOlZT+eEotFXd1elee8ih5WsjXaR3PA9M", "aspnet_identity_v3"),  # SHA-1, 250
    (  # SHA-256, 250,000 iterations, 256-bit salt
        "AQAAAAEAA9CQAAAAIESkQuj2Du8Y+kbc5lcN/W/3NiAZFEm11P27nrSN5/tId+bR1SwV8CO1Jd72r4C08OLvplNlCDc3oQZ8efcW+jQ=",
        "aspnet_identity_v3",
    ),
    ("AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw", "aspnet_identity_v3"),  # SHA-512, 50
    (  # SHA-512, 250 iterations, 256-bit salt, 512-bit key
        "AQAAAAIAAAD6AAAAIJbVi5wbMR+htSfFp8fTw8N8GOS/Sje+S/4YZcgBfU7EQuqv4OkVYmc4VJl9AGZzmRTxSkP7LtVi9IWyUxX8IAAfZ8v+ZfhjCcudtC1YERSqE1OEdXLW9VukPuJWBBjLuw==",
        "aspnet_identity_v3",
    ),
    (
        "AQAAAAIAACcQAAAAEAABAgMEBQYHCAkKCwwNDg9B0Oxwty+PGIDSp95gcCfzeDvA4sGapUIUov8usXfD6A==",
        "aspnet_identity_v3",
    ),
    (
        "AQAAAAIAAYagAAAAEAABAgMEBQYHCAkKCwwNDg/Q8A0WMKbtHQJQ2DHCdoEeeFBrgNlldq6vH4qX/CGqGQ==",
        "aspnet_identity_v3",
    ),
    # HashPassword_Version3 in the ASP.NET Core 2.x-6 test suite (HMAC-SHA256, 10,000 iterations).
    (
        "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==",
        "aspnet_identity_v3",
    ),
]


@pytest.mark.parametrize(("stored", "scheme"), KNOWN_ANSWERS)
def test_known_answers_verify(stored: str, scheme: str) -> None:
    assert identify_scheme(stored) == scheme
    assert verify_password(PASSWORD, stored) == Verification(True, scheme, "ok")
    assert verify_password("password 2", stored) == Verification(False, scheme, "mismatch")


def test_the_vectors_are_what_the_hasher_writes_with_a_sequential_salt() -> None:
    """The test suite's SequentialRandomNumberGenerator makes the salt 00 01 02 ... 0f."""
    assert ref.aspnet_v2(PASSWORD, bytes(range(16))) == KNOWN_ANSWERS[0][0]
    assert ref.aspnet_v3(PASSWORD, 2, 100_000, bytes(range(16)), 32) == KNOWN_ANSWERS[6][0]
    assert ref.aspnet_v3(PASSWORD, 1, 10_000, bytes(range(16)), 32) == KNOWN_ANSWERS[7][0]


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        # VerifyHashedPassword_FailureCases: incorrect password, too short, extra data at end.
        ("AAABAgMEBQYHCAkKCwwNDg+uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAALtH1uJg==", "mismatch"),
        ("AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggE=", "malformed_hash"),
        (
            "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJgAAAAAAAAAAAAA=",
            "malformed_hash",
        ),
        ("AQAAAAAAAAD6AAAAEAhftMyfTJyAAAAAAAAAAAAAAAAAAAih5WsjXaR3PA9M", "mismatch"),
        ("AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4A=", "malformed_hash"),  # a key under 128 bits
        # .NET reads the extra bytes as a longer key, which then does not match.
        ("AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHwAAAAAAAAAAAA", "mismatch"),
    ],
)
def test_aspnetcore_failure_cases(stored: str, reason: str) -> None:
    scheme = "aspnet_identity_v2" if stored.startswith("AA") else "aspnet_identity_v3"
    assert verify_password(PASSWORD, stored, scheme=scheme) == Verification(False, scheme, reason)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
    prf=st.sampled_from([0, 1, 2]),
    iterations=st.integers(1, 100),
    salt=st.binary(min_size=16, max_size=40),
    key_length=st.integers(16, 64),
)
def test_v3_agrees_with_the_reference(
    password: str, prf: int, iterations: int, salt: bytes, key_length: int
) -> None:
    stored = ref.aspnet_v3(password, prf, iterations, salt, key_length)
    assert verify_password(password, stored) == Verification(True, "aspnet_identity_v3", "ok")
    assert verify_password(password + "x", stored).reason == "mismatch"


@settings(max_examples=20, deadline=None, database=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
    salt=st.binary(min_size=16, max_size=16),
)
def test_v2_agrees_with_the_reference(password: str, salt: bytes) -> None:
    stored = ref.aspnet_v2(password, salt)
    assert identify_scheme(stored) == "aspnet_identity_v2"
    assert verify_password(password, stored) == Verification(True, "aspnet_identity_v2", "ok")


def _v3(prf: int, iterations: int, salt_length: int, rest: bytes) -> str:
    header = b"\x01" + prf.to_bytes(4, "big") + iterations.to_bytes(4, "big") + salt_length.to_bytes(4, "big")
    return base64.b64encode(header + rest).decode()


@pytest.mark.parametrize(
    "stored",
    [
        _v3(3, 1000, 16, bytes(48)),  # unknown PRF
        _v3(1, 0, 16, bytes(48)),  # no iterations
        _v3(1, 2**31, 16, bytes(48)),  # .NET reads a negative int
        _v3(1, 1000, 15, bytes(47)),  # salt under 128 bits
        _v3(1, 1000, 2**32 - 1, bytes(48)),  # salt longer than the value
        _v3(1, 1000, 16, bytes(16 + 65)),  # key over 64 bytes
        _v3(1, 1000, 16, bytes(16 + 15)),  # key under 128 bits
        "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw",  # no padding
        "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEx==",  # stray bits
        "AQAAAA",
        "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==\n",
    ],
)
def test_v3_malformed_hashes(stored: str) -> None:
    assert verify_password(PASSWORD, stored) == Verification(False, "aspnet_identity_v3", "malformed_hash")


def test_v2_is_identified_only_by_its_exact_shape() -> None:
    v2 = KNOWN_ANSWERS[0][0]
    assert verify_password(PASSWORD, v2[:-4] + "AA==").reason == "mismatch"  # same shape, other key
    assert verify_password(PASSWORD, "B" + v2[1:]).reason == "unknown_format"  # first byte 0x04
    assert verify_password(PASSWORD, v2[:-2]).reason == "unknown_format"  # damaged padding
    assert verify_password(PASSWORD, v2[:-2], scheme="aspnet_identity_v2").reason == "malformed_hash"
    assert (
        verify_password(PASSWORD, v2[:64], scheme="aspnet_identity_v2").reason == "malformed_hash"
    )  # 48 bytes


def test_v3_work_above_the_budget_is_refused_without_hashing() -> None:
    stored = _v3(2, AspnetIdentityV3.max_work, 16, bytes(48))
    assert verify_password(PASSWORD, stored) == Verification(
        False, "aspnet_identity_v3", "unsupported_scheme"
    )
    big_key = _v3(0, AspnetIdentityV3.max_work // 3, 16, bytes(16 + 64))  # 4 SHA-1 blocks per iteration
    assert verify_password(PASSWORD, big_key) == Verification(
        False, "aspnet_identity_v3", "unsupported_scheme"
    )
