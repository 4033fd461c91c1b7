"""SHA-512 crypt ($6$): Ulrich Drepper's specification vectors and libxcrypt output."""

from __future__ import annotations

import pytest

from accounts.hashers import Verification, verify_password
from accounts.hashers.schemes import Sha512Crypt

# From "Unix crypt using SHA-256 and SHA-512" (Drepper), the SHA-512 test table. Where the
# specification's input salt is longer than 16 characters or its rounds below 1000, this is the
# string crypt(3) outputs, which is what a shadow file holds.
DREPPER = [
    (
        "Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ),
    (
        "Hello world!",
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/"
        "YTBmSK6H9qs/y3RnOaw5v.",
    ),
    (
        "This is just a test",
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/"
        "e1JSbq3y6JMxxl8audkUEm0",
    ),
    (
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7"
        "UmJEiDwGqd8p4ur1",
    ),
    (
        "we have a short salt string but not a short password",
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5Cxtgf"
        "iAc0",
    ),
    (
        "a short string",
        "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrC"
        "zIMVcgEJAstJeonj1",
    ),
    (
        "the minimum number is still observed",
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpB"
        "YYBaHHrsX.",
    ),
    # libxcrypt crypt(3) of a non-ASCII password (UTF-8 bytes).
    (
        "lètmein",
        "$6$rounds=1000$ZqV2rXJmLq9d1e0P$wCqhrKdJtAm8817TA9R0xdmYG44X9oK5ZHz6KAZpB3GPxlWK3PURRWiE3zAr9q0dNfrskK9"
        "KGg.f2g4egJOkP1",
    ),
]


@pytest.mark.parametrize(("password", "stored"), DREPPER)
def test_known_answers_verify(password: str, stored: str) -> None:
    assert verify_password(password, stored) == Verification(True, "sha512_crypt", "ok")


@pytest.mark.parametrize(("password", "stored"), DREPPER)
def test_known_answers_reject_a_wrong_password(password: str, stored: str) -> None:
    assert verify_password(password.swapcase(), stored) == Verification(False, "sha512_crypt", "mismatch")


def test_explicit_default_rounds_equal_implicit() -> None:
    implicit = DREPPER[0][1]
    explicit = implicit.replace("$6$", "$6$rounds=5000$")
    assert verify_password("Hello world!", explicit).ok


def test_rounds_above_the_ceiling_are_refused_without_hashing() -> None:
    stored = DREPPER[0][1].replace("$6$", f"$6$rounds={Sha512Crypt.max_rounds + 1}$")
    assert verify_password("Hello world!", stored) == Verification(
        False, "sha512_crypt", "unsupported_scheme"
    )


GOOD = DREPPER[0][1]


@pytest.mark.parametrize(
    "stored",
    [
        "$6$",
        "$6$saltstring",
        "$6$saltstring$",
        GOOD[:-1],
        GOOD + "1",
        GOOD + "\n",
        GOOD.replace("$6$", "$6$rounds=999$"),  # below the minimum: crypt(3) never writes this
        GOOD.replace("$6$", "$6$rounds=10$"),  # the specification's input, not its output
        GOOD.replace("$6$", "$6$rounds=05000$"),  # crypt(3) never zero-pads
        GOOD.replace("$6$", "$6$rounds=1000000000$"),
        GOOD.replace("$6$", "$6$rounds=$"),
        GOOD.replace("$6$", "$6$rounds=five$"),
        GOOD.replace("saltstring", "saltstringsaltstr"),  # 17 characters: longer than crypt(3) keeps
        GOOD.replace("saltstring", "salt:tring"),
        GOOD.replace("saltstring", "salté"),
        GOOD[:20] + "!" + GOOD[21:],
    ],
)
def test_malformed_hashes_are_reported_not_raised(stored: str) -> None:
    assert verify_password("Hello world!", stored) == Verification(False, "sha512_crypt", "malformed_hash")


def test_passwords_over_4096_characters_never_match() -> None:
    assert verify_password("a" * 4097, GOOD) == Verification(False, "sha512_crypt", "mismatch")
