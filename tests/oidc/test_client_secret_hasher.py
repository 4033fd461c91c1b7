from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from hypothesis import given
from hypothesis import strategies as st

from oidc.hashers import ClientSecretHasher


def test_round_trip_and_mismatch(settings):
    encoded = make_password("a" * 48, hasher="client_secret_hmac")
    assert isinstance(identify_hasher(encoded), ClientSecretHasher)
    assert check_password("a" * 48, encoded)
    assert not check_password("a" * 47 + "b", encoded)


@given(secret=st.text(min_size=1, max_size=200), other=st.text(max_size=200))
def test_only_the_same_secret_verifies(secret, other):
    hasher = ClientSecretHasher()
    encoded = hasher.encode(secret, hasher.salt())
    assert hasher.verify(secret, encoded)
    assert hasher.verify(other, encoded) is (other == secret)


def test_malformed_stored_value_does_not_verify():
    assert not ClientSecretHasher().verify("x", "client_secret_hmac$only-one-part")
