"""The dummy verification that makes unknown users cost as much as known ones."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import bcrypt
import pytest

from accounts.hashers import check_dummy_hash, dummy_verification, set_dummy_scheme
from accounts.hashers import dummy as dummy_module

CHEAP_BCRYPT = "$2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"
CHEAP_SHA512 = (
    "$6$rounds=1000$saltsalt$Z/J9iYO1iE9xnr8JPQL57ZWsVRtVjrUv3CiWc/wKWseqXgSqn3HFYJ/Ng7YXa8X"
    "lLj.wpdAwHOJJzuGFqBBRa0"
)


@pytest.fixture(autouse=True)
def _forget_dummy() -> Iterator[None]:
    set_dummy_scheme(None)
    yield
    set_dummy_scheme(None)


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The hashes bcrypt.checkpw is asked to check, in order (the checks still run)."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed_password: bytes) -> bool:
        calls.append(hashed_password)
        return real(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return calls


@pytest.fixture
def no_django_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(configured=False))


def test_default_is_one_bcrypt_cost_12_verification(
    no_django_settings: None, bcrypt_calls: list[bytes]
) -> None:
    dummy_verification()
    assert len(bcrypt_calls) == 1
    assert bcrypt_calls[0].startswith(b"$2b$12$")
    assert dummy_module.dummy_hash() == dummy_module.DEFAULT_DUMMY_HASH


def test_default_dummy_hash_is_usable() -> None:
    assert check_dummy_hash(dummy_module.DEFAULT_DUMMY_HASH) is None


def test_set_dummy_scheme_pins_the_hash(bcrypt_calls: list[bytes]) -> None:
    set_dummy_scheme(CHEAP_BCRYPT)
    bcrypt_calls.clear()  # set_dummy_scheme checks the value once
    dummy_verification()
    dummy_verification()
    assert [c[:7] for c in bcrypt_calls] == [b"$2b$04$", b"$2b$04$"]


def test_set_dummy_scheme_accepts_any_registered_scheme(bcrypt_calls: list[bytes]) -> None:
    set_dummy_scheme(CHEAP_SHA512)
    dummy_verification()
    assert bcrypt_calls == []
    assert dummy_module.dummy_hash() == CHEAP_SHA512


@pytest.mark.parametrize(
    "value",
    [
        "",
        "!",
        "not cached",
        "$2b$04$tooshort",
        "$2x$04$" + "a" * 53,
        "{CRYPT}abMbH7WsHr7wQ",
        # Well-formed, but a single hash pass: no work factor.
        "5f4dcc3b5aa765d61d8327deb882cf99",
        "{SSHA}0c0blFTXXNuAMHECS4uxrj3ZieMoWImr",
        "$CP$5f4dcc3b5aa765d61d8327deb882cf99",
        ":B:salt:9842afc7cb949c440c51347ed809362f",
        "b4728716ee1a8de5fe3ce43646ff4973:saltsaltsaltsaltsaltsaltsaltsalt",
    ],
)
def test_set_dummy_scheme_refuses_values_that_would_not_cost_anything(value: str) -> None:
    with pytest.raises(ValueError, match="not usable as a dummy hash") as excinfo:
        set_dummy_scheme(value)
    if len(value) > 3:
        assert value not in str(excinfo.value)


@pytest.mark.parametrize(
    "value",
    [
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$zX4Ep8A/YO7OCSW/CB8hJQ",
        "{PBKDF2-SHA256}1$c2FsdHNhbHRzYWx0c2FsdA$sT1ml.mc1tF0XaCX7gPkvlATQedv6RYaeI3j1M0L4hk",
        "$wp$2y$04$abcdefghijklmnopqrstuuvVcN26Qszf/bgHTEy5wqn1LFLMIFXUq",
        "{CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
    ],
)
def test_set_dummy_scheme_accepts_any_scheme_with_a_work_factor(value: str) -> None:
    set_dummy_scheme(value)
    assert dummy_module.dummy_hash() == value


def test_django_setting_is_used_when_configured(
    monkeypatch: pytest.MonkeyPatch, bcrypt_calls: list[bytes]
) -> None:
    monkeypatch.setattr(
        "django.conf.settings", SimpleNamespace(configured=True, BRIDGE_DUMMY_HASH=CHEAP_BCRYPT)
    )
    dummy_verification()
    assert bcrypt_calls[-1].startswith(b"$2b$04$")
    assert dummy_module.dummy_hash() == CHEAP_BCRYPT


def test_django_setting_unset_or_empty_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(configured=True))
    assert dummy_module.dummy_hash() == dummy_module.DEFAULT_DUMMY_HASH
    set_dummy_scheme(None)
    monkeypatch.setattr("django.conf.settings", SimpleNamespace(configured=True, BRIDGE_DUMMY_HASH=""))
    assert dummy_module.dummy_hash() == dummy_module.DEFAULT_DUMMY_HASH


def test_invalid_django_setting_is_a_loud_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setattr("django.conf.settings", SimpleNamespace(configured=True, BRIDGE_DUMMY_HASH="!locked"))
    with pytest.raises(ImproperlyConfigured, match="BRIDGE_DUMMY_HASH"):
        dummy_verification()


def test_explicit_pin_wins_over_the_django_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "django.conf.settings", SimpleNamespace(configured=True, BRIDGE_DUMMY_HASH=CHEAP_BCRYPT)
    )
    set_dummy_scheme(CHEAP_SHA512)
    assert dummy_module.dummy_hash() == CHEAP_SHA512
