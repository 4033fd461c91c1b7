"""The bridge's signing keys: RS256, kid = RFC 7638 thumbprint, private half encrypted at rest.

Rotation is a three-step cycle so that no relying party ever sees a token signed by a key it has
not had the chance to fetch: pre-publish the next key, activate it once every cached JWKS has
expired, and drop the old one after the longest lifetime of anything it signed.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from idp_bridge.errors import BridgeError, ConfigurationError
from oidc.models import SigningKey

RSA_BITS = 2048
SIGNING_ALGORITHM = "RS256"
# Relying parties may cache the JWKS this long; a pre-published key must be visible at least this
# long before it signs anything.
JWKS_MAX_AGE_SECONDS = 600


class KeyRotationError(BridgeError):
    """A rotation step was asked for in the wrong state; the message says what to do."""


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    jwk: jwk.JWK


_decrypted: dict[str, jwk.JWK] = {}
_lock = threading.Lock()


def _fernet() -> Fernet:
    secret = settings.BRIDGE_KEY_ENCRYPTION_SECRET.encode()
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"idp-bridge signing keys v1"
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))


def _new_key(state: str) -> SigningKey:
    key = jwk.JWK.generate(kty="RSA", size=RSA_BITS)
    kid = key.thumbprint()
    public = key.export_public(as_dict=True) | {"kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}
    encrypted = _fernet().encrypt(key.export_to_pem(private_key=True, password=None)).decode()
    now = timezone.now()
    return SigningKey.objects.create(
        kid=kid,
        state=state,
        private_key_encrypted=encrypted,
        public_jwk=public,
        activated_at=now if state == SigningKey.State.ACTIVE else None,
    )


def _decrypt(row: SigningKey) -> jwk.JWK:
    cached = _decrypted.get(row.kid)
    if cached is not None:
        return cached
    try:
        pem = _fernet().decrypt(row.private_key_encrypted.encode())
    except InvalidToken as exc:
        raise ConfigurationError(
            f"Signing key {row.kid} cannot be decrypted: BRIDGE_KEY_ENCRYPTION_SECRET is not the secret "
            "it was encrypted with. Restore the old secret, or replace the keys: `manage.py rotate_keys "
            "--prepublish` then `rotate_keys --activate --force` (relying parties refetch the JWKS)."
        ) from exc
    key = jwk.JWK.from_pem(pem)
    with _lock:
        _decrypted[row.kid] = key
    return key


def ensure_active_key() -> SigningKey:
    """Return the active key row, creating the first key on first start."""
    row = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return _new_key(SigningKey.State.ACTIVE)
    except IntegrityError:
        # Another process created it between our read and write; theirs is as good as ours.
        return SigningKey.objects.get(state=SigningKey.State.ACTIVE)


def active_signing_key() -> LoadedKey:
    row = ensure_active_key()
    return LoadedKey(kid=row.kid, jwk=_decrypt(row))


def published_keys() -> list[SigningKey]:
    """Keys in the JWKS, active first: globus-sdk and some other clients use only the first key."""
    now = timezone.now()
    rows = [
        r
        for r in SigningKey.objects.all()
        if r.state != SigningKey.State.RETIRING or (r.retire_after is None or r.retire_after > now)
    ]
    order = {SigningKey.State.ACTIVE: 0, SigningKey.State.NEXT: 1, SigningKey.State.RETIRING: 2}
    return sorted(rows, key=lambda r: (order[SigningKey.State(r.state)], -r.created_at.timestamp()))


def jwks_document() -> dict[str, list[dict[str, object]]]:
    ensure_active_key()
    return {"keys": [r.public_jwk for r in published_keys()]}


def _longest_signed_lifetime() -> timedelta:
    # An ID token comes back as an (expired) id_token_hint for as long as the relying party's
    # session lasts; keep its key published that long, at least a day.
    return timedelta(
        seconds=max(
            settings.ID_TOKEN_SECONDS, settings.ACCESS_TOKEN_SECONDS, settings.SESSION_COOKIE_AGE, 86400
        )
    )


def prepublish_next_key() -> SigningKey:
    if SigningKey.objects.filter(state=SigningKey.State.NEXT).exists():
        raise KeyRotationError("A next key is already published; activate it with `rotate_keys --activate`.")
    ensure_active_key()
    return _new_key(SigningKey.State.NEXT)


def activate_next_key(*, force: bool = False) -> SigningKey:
    now = timezone.now()
    with transaction.atomic():
        upcoming = SigningKey.objects.select_for_update().filter(state=SigningKey.State.NEXT).first()
        if upcoming is None:
            raise KeyRotationError("No next key is published; run `rotate_keys --prepublish` first.")
        visible_since = now - upcoming.created_at
        if not force and visible_since < timedelta(seconds=JWKS_MAX_AGE_SECONDS):
            wait = int(JWKS_MAX_AGE_SECONDS - visible_since.total_seconds()) + 1
            raise KeyRotationError(
                f"The next key {upcoming.kid} has been published for {int(visible_since.total_seconds())} s; "
                f"relying parties may cache the JWKS for {JWKS_MAX_AGE_SECONDS} s. Activate it in {wait} s, "
                "or pass --force if no relying party can have cached the old JWKS."
            )
        SigningKey.objects.filter(state=SigningKey.State.ACTIVE).update(
            state=SigningKey.State.RETIRING, retire_after=now + _longest_signed_lifetime()
        )
        upcoming.state = SigningKey.State.ACTIVE
        upcoming.activated_at = now
        upcoming.save(update_fields=["state", "activated_at"])
    return upcoming


def retire_expired_keys() -> list[str]:
    expired = SigningKey.objects.filter(state=SigningKey.State.RETIRING, retire_after__lte=timezone.now())
    kids = list(expired.values_list("kid", flat=True))
    expired.delete()
    with _lock:
        for kid in kids:
            _decrypted.pop(kid, None)
    return kids


def sign(claims: dict[str, object], *, typ: str = "JWT") -> str:
    key = active_signing_key()
    header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": typ}
    token = jwt.JWT(header=header, claims=json.dumps(claims, separators=(",", ":")))
    token.make_signed_token(key.jwk)
    return token.serialize()


class InvalidJWT(BridgeError):
    """A JWT this bridge was asked to trust is not one it signed."""


def _parse_signed(token: object) -> tuple[jws.JWS, jwk.JWK]:
    """Parse a compact JWS and find the published key its ``kid`` names (not yet verified)."""
    if not isinstance(token, str) or len(token) > 16384 or token.count(".") != 2:
        raise InvalidJWT("not a compact JWS")
    try:
        parsed = jws.JWS()
        parsed.deserialize(token)
        header = parsed.jose_header
    except (JWException, ValueError, TypeError, KeyError) as exc:
        raise InvalidJWT("not a compact JWS") from exc
    kid = header.get("kid") if isinstance(header, dict) else None
    if header.get("alg") != SIGNING_ALGORITHM or not isinstance(kid, str):
        raise InvalidJWT("unexpected algorithm or missing kid")
    row = SigningKey.objects.filter(kid=kid).first()
    if row is None:
        raise InvalidJWT("signed by a key this bridge does not hold")
    return parsed, jwk.JWK(**row.public_jwk)


def verification_key(token: str) -> jwk.JWK | None:
    """The published key (any state) that a JWT of ours names, or None."""
    try:
        return _parse_signed(token)[1]
    except InvalidJWT:
        return None


def verify_own_jwt(token: str) -> dict[str, object]:
    """Verify the signature of a JWT this bridge issued (expired ones included) and return its claims.

    Used for ``id_token_hint``: the OP checks it issued the token, not that it is still fresh
    (OpenID Connect Core 3.1.2.1 and RP-Initiated Logout 1.0 both accept expired hints).
    """
    parsed, public = _parse_signed(token)
    try:
        parsed.verify(public, alg=SIGNING_ALGORITHM)
        claims = json.loads(parsed.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise InvalidJWT("bad signature") from exc
    if not isinstance(claims, dict) or claims.get("iss") != settings.BRIDGE_ISSUER:
        raise InvalidJWT("not issued by this bridge")
    return claims
