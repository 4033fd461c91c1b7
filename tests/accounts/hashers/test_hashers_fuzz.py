"""Whatever is stored and whatever is typed, verification returns a result and never raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import get_args
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.hashers import (
    HashContext,
    Reason,
    Verification,
    describe_scheme,
    identify_scheme,
    known_schemes,
    verify_password,
)
from accounts.hashers import schemes as s
from tests.accounts.hashers.references import CHEAP

REASONS = set(get_args(Reason))

# Low-cost valid hashes of "password" to mutate, one per scheme, with the context each needs.
SEEDS = [(stored, HashContext(**context)) for stored, context in CHEAP.values()] + [
    # Variants the cheap table does not show.
    ("$2y$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", HashContext()),
    ("$H$512345678gWElwkeSOP9tFeJ1LUBM8/", HashContext()),
    ("argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", HashContext()),
    ("{PBKDF2}1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI", HashContext()),
    ("AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw", HashContext()),
    (":A:salt:9842afc7cb949c440c51347ed809362f", HashContext()),
]
PREFIXES = sorted(
    {p for name in known_schemes() for p in describe_scheme(name).prefixes}  # type: ignore[union-attr]
    | {"!", "*", "{crypt}", "{ssha}", "U$", ":", "argon2$argon2id$", "$CP$$H$", "{CRYPT}$6$"}
)
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def cheap_ceilings() -> Iterator[None]:
    """Lower every cost ceiling so that a mutated cost field cannot make one example take minutes."""
    patches = [
        (s.Bcrypt, "max_cost", 6),
        (s._DjangoPbkdf2, "max_iterations", 20_000),
        (s.PhpassPortable, "max_log2_rounds", 12),
        (s.Drupal7, "max_log2_rounds", 12),
        (s.Sha512Crypt, "max_rounds", 10_000),
        (s.Sha256Crypt, "max_rounds", 10_000),
        (s.Argon2, "max_memory_kib", 1024),
        (s.Argon2, "max_work_kib", 4096),
        (s.Argon2, "max_parallelism", 4),
        (s.DjangoScrypt, "max_memory_bytes", 2**20),
        (s.DjangoScrypt, "max_work", 2**12),
        (s.MediawikiPbkdf2, "max_work", 20_000),
        (s._LdapPbkdf2, "max_work", 20_000),
        (s.AspnetIdentityV3, "max_work", 20_000),
    ]
    with ExitStack() as stack:
        for owner, attribute, value in patches:
            stack.enter_context(mock.patch.object(owner, attribute, value))
        yield


def assert_well_formed(result: Verification) -> None:
    assert isinstance(result, Verification)
    assert result.reason in REASONS
    assert result.ok is (result.reason == "ok")
    assert result.scheme is None or isinstance(result.scheme, str)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, HashContext]:
    """A valid hash with a few characters replaced, inserted or deleted, or cut short."""
    stored, context = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(stored)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        char = draw(st.one_of(st.sampled_from("$./09AZaz=+:{} \n\x00é"), st.characters()))
        if action == "replace":
            stored = stored[:position] + char + stored[position + 1 :]
        elif action == "insert":
            stored = stored[:position] + char + stored[position:]
        elif action == "delete":
            stored = stored[:position] + stored[position + 1 :]
        else:
            stored = stored[:position]
    return stored, context


passwords = st.one_of(
    st.text(max_size=80), st.just("password"), st.just(" password\n"), st.just(""), st.just("password\x00")
)
contexts = st.builds(
    HashContext,
    salt=st.one_of(st.none(), st.text(max_size=20)),
    site_salt=st.one_of(st.none(), st.text(max_size=20)),
    salt_position=st.sampled_from(["before", "after"]),
    trim_whitespace=st.booleans(),
)


@FUZZ
@given(password=st.text(), stored=st.text(), context=contexts)
def test_arbitrary_text_never_raises(password: str, stored: str, context: HashContext) -> None:
    with cheap_ceilings():
        assert_well_formed(verify_password(password, stored))
        assert_well_formed(verify_password(password, stored, context=context))
        identified = identify_scheme(stored, context=context)
        assert identified is None or identified in known_schemes()


@FUZZ
@given(password=passwords, prefix=st.sampled_from(PREFIXES), body=st.text(max_size=120), context=contexts)
def test_recognised_prefix_with_arbitrary_body_never_raises(
    password: str, prefix: str, body: str, context: HashContext
) -> None:
    with cheap_ceilings():
        result = verify_password(password, prefix + body, context=context)
    assert_well_formed(result)
    assert not result.ok


@FUZZ
@given(password=passwords, seed=mutated())
def test_mutated_valid_hashes_never_raise(password: str, seed: tuple[str, HashContext]) -> None:
    stored, context = seed
    with cheap_ceilings():
        result = verify_password(password, stored, context=context)
    assert_well_formed(result)
    if password.strip(" \t\n\r\x0b") != "password":
        assert not result.ok


@FUZZ
@given(
    password=passwords,
    seed=mutated(),
    scheme=st.sampled_from([*known_schemes(), "nonexistent"]),
    context=contexts,
)
def test_explicit_scheme_with_any_value_never_raises(
    password: str, seed: tuple[str, HashContext], scheme: str, context: HashContext
) -> None:
    stored, _ = seed
    with cheap_ceilings():
        assert_well_formed(verify_password(password, stored, scheme=scheme, context=context))
        assert_well_formed(verify_password(password, stored, scheme=scheme, salt=stored))


@FUZZ
@given(password=st.text(min_size=1).filter(lambda p: "\x00" not in p), seed=st.sampled_from(SEEDS))
def test_only_the_right_password_verifies(password: str, seed: tuple[str, HashContext]) -> None:
    stored, context = seed
    result = verify_password(password, stored, context=context)
    assert_well_formed(result)
    trims = result.scheme == "wordpress_bcrypt"
    typed = password.strip(" \t\n\r\x0b") if trims else password
    # Moodle's unsalted fallback also accepts the password followed by the site salt.
    moodle_quirk = result.scheme == "moodle_md5" and typed == "password" + (context.site_salt or "")
    assert result.ok is (typed == "password" or moodle_quirk)
