"""Signing keys: encrypted at rest, active key first, a rotation that never strands a token."""

from datetime import timedelta

import pytest
from django.utils import timezone
from jwcrypto import jwk, jwt

from idp_bridge.errors import ConfigurationError
from oidc import keys
from oidc.models import SigningKey

pytestmark = pytest.mark.django_db


def test_first_key_is_created_on_demand_and_published():
    SigningKey.objects.all().delete()
    document = keys.jwks_document()
    assert len(document["keys"]) == 1
    published = document["keys"][0]
    assert published["kid"] == SigningKey.objects.get().kid
    assert published["alg"] == "RS256" and published["use"] == "sig"
    assert "d" not in published and "p" not in published  # never the private half


def test_private_key_is_encrypted_at_rest():
    row = keys.ensure_active_key()
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert row.private_key_encrypted.startswith("gAAAAA")  # Fernet token


def test_a_wrong_encryption_secret_is_a_clear_configuration_error(settings):
    row = keys.ensure_active_key()
    keys._decrypted.clear()
    settings.BRIDGE_KEY_ENCRYPTION_SECRET = "another-secret-" + "y" * 40
    with pytest.raises(ConfigurationError, match="BRIDGE_KEY_ENCRYPTION_SECRET"):
        keys._decrypt(row)


def test_signed_token_names_its_key_and_verifies_against_the_jwks():
    token = keys.sign({"iss": "http://127.0.0.1:8000", "sub": "x"})
    key_set = jwk.JWKSet.from_json(__import__("json").dumps(keys.jwks_document()))
    parsed = jwt.JWT(jwt=token, key=key_set, algs=["RS256"])
    assert parsed.token.jose_header["kid"] == keys.active_signing_key().kid


def test_rotation_prepublish_activate_retire():
    old = keys.ensure_active_key()
    old_token = keys.sign({"iss": "http://127.0.0.1:8000", "sub": "before"})

    upcoming = keys.prepublish_next_key()
    kids = [k["kid"] for k in keys.jwks_document()["keys"]]
    assert kids == [old.kid, upcoming.kid]  # published, but the old key still signs and comes first

    with pytest.raises(keys.KeyRotationError, match="cache"):
        keys.activate_next_key()  # too soon: relying parties may not have fetched it yet
    SigningKey.objects.filter(pk=upcoming.pk).update(created_at=timezone.now() - timedelta(hours=1))
    keys.activate_next_key()

    kids = [k["kid"] for k in keys.jwks_document()["keys"]]
    assert kids == [upcoming.kid, old.kid]  # the new key is first; the old one stays for its tokens
    assert keys.verify_own_jwt(old_token)["sub"] == "before"
    assert keys.active_signing_key().kid == upcoming.kid

    assert keys.retire_expired_keys() == []  # not before its tokens expire
    SigningKey.objects.filter(pk=old.pk).update(retire_after=timezone.now() - timedelta(seconds=1))
    assert keys.retire_expired_keys() == [old.kid]
    assert [k["kid"] for k in keys.jwks_document()["keys"]] == [upcoming.kid]


def test_only_one_next_key_at_a_time():
    keys.prepublish_next_key()
    with pytest.raises(keys.KeyRotationError, match="already"):
        keys.prepublish_next_key()


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c", "x" * 20000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", None, 42]
)
def test_verify_own_jwt_rejects_garbage(token):
    with pytest.raises(keys.InvalidJWT):
        keys.verify_own_jwt(token)


def test_verify_own_jwt_rejects_a_token_from_another_issuer():
    token = keys.sign({"iss": "https://evil.example", "sub": "x"})
    with pytest.raises(keys.InvalidJWT, match="not issued"):
        keys.verify_own_jwt(token)


def test_verify_own_jwt_rejects_a_token_signed_by_a_stranger_with_our_kid():
    ours = keys.active_signing_key()
    stranger = jwk.JWK.generate(kty="RSA", size=2048)
    forged = jwt.JWT(
        header={"alg": "RS256", "kid": ours.kid}, claims={"iss": "http://127.0.0.1:8000", "sub": "x"}
    )
    forged.make_signed_token(stranger)
    with pytest.raises(keys.InvalidJWT, match="signature"):
        keys.verify_own_jwt(forged.serialize())


def test_rotate_keys_command_walks_the_cycle(capsys):
    from django.core.management import call_command

    call_command("rotate_keys", "--prepublish")
    call_command("rotate_keys", "--activate", "--force")
    call_command("rotate_keys")
    out = capsys.readouterr().out
    assert "Published next key" in out and "now signs" in out and "retiring" in out
