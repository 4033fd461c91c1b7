"""Whatever is stored and whatever is typed, verification returns a result and never raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import get_args
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.hashers import Reason, Verification, identify_scheme, known_schemes, verify_password
from accounts.hashers.schemes import Bcrypt, PhpassPortable, Sha512Crypt, _DjangoPbkdf2

REASONS = set(get_args(Reason))

# Low-cost valid hashes of "password" to mutate, one or more per format and variant.
SEEDS = [
    "$2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm",
    "$2y$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm",
    "$2a$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm",
    "pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
    "pbkdf2_sha1$1$salt$DGDID5YfDnHzqbUkr2ASBi/gN6Y=",
    "$P$512345678gWElwkeSOP9tFeJ1LUBM8/",
    "$H$512345678gWElwkeSOP9tFeJ1LUBM8/",
    "$6$rounds=1000$saltsalt$Z/J9iYO1iE9xnr8JPQL57ZWsVRtVjrUv3CiWc/wKWseqXgSqn3HFYJ/Ng7YXa8XlLj.wpdAwHOJJzuGFqBBRa0",
]
PREFIXES = [
    "$2a$",
    "$2b$",
    "$2y$",
    "$2x$",
    "$2$",
    "pbkdf2_sha256$",
    "pbkdf2_sha1$",
    "$P$",
    "$H$",
    "$6$",
    "!",
    "*",
]
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def cheap_ceilings() -> Iterator[None]:
    """Lower every cost ceiling so that a mutated cost digit cannot make one example take minutes."""
    with (
        mock.patch.object(Bcrypt, "max_cost", 6),
        mock.patch.object(_DjangoPbkdf2, "max_iterations", 20_000),
        mock.patch.object(PhpassPortable, "max_log2_rounds", 12),
        mock.patch.object(Sha512Crypt, "max_rounds", 10_000),
    ):
        yield


def assert_well_formed(result: Verification) -> None:
    assert isinstance(result, Verification)
    assert result.reason in REASONS
    assert result.ok is (result.reason == "ok")
    assert result.scheme is None or isinstance(result.scheme, str)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid hash with a few characters replaced, inserted or deleted, or cut short."""
    stored = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(stored)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        char = draw(st.one_of(st.sampled_from("$./09AZaz=+ \n\x00é"), st.characters()))
        if action == "replace":
            stored = stored[:position] + char + stored[position + 1 :]
        elif action == "insert":
            stored = stored[:position] + char + stored[position:]
        elif action == "delete":
            stored = stored[:position] + stored[position + 1 :]
        else:
            stored = stored[:position]
    return stored


passwords = st.one_of(st.text(max_size=80), st.just("password"), st.just(""), st.just("password\x00"))


@FUZZ
@given(password=st.text(), stored=st.text())
def test_arbitrary_text_never_raises(password: str, stored: str) -> None:
    with cheap_ceilings():
        assert_well_formed(verify_password(password, stored))
        identified = identify_scheme(stored)
        assert identified is None or identified in known_schemes()


@FUZZ
@given(password=passwords, prefix=st.sampled_from(PREFIXES), body=st.text(max_size=120))
def test_recognised_prefix_with_arbitrary_body_never_raises(password: str, prefix: str, body: str) -> None:
    with cheap_ceilings():
        result = verify_password(password, prefix + body)
    assert_well_formed(result)
    assert not result.ok


@FUZZ
@given(password=passwords, stored=mutated())
def test_mutated_valid_hashes_never_raise(password: str, stored: str) -> None:
    with cheap_ceilings():
        result = verify_password(password, stored)
    assert_well_formed(result)
    if password != "password":
        assert not result.ok


@FUZZ
@given(password=passwords, stored=mutated(), scheme=st.sampled_from([*known_schemes(), "nonexistent"]))
def test_explicit_scheme_with_any_value_never_raises(password: str, stored: str, scheme: str) -> None:
    with cheap_ceilings():
        assert_well_formed(verify_password(password, stored, scheme=scheme, salt=stored))


@FUZZ
@given(password=st.text(min_size=1).filter(lambda p: "\x00" not in p), seed=st.sampled_from(SEEDS))
def test_only_the_right_password_verifies(password: str, seed: str) -> None:
    result = verify_password(password, seed)
    assert_well_formed(result)
    assert result.ok is (password == "password")
