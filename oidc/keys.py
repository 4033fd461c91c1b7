"""The bridge's signing keys: RS256, kid = RFC 7638 thumbprint, private half encrypted at rest.

Rotation is a three-step cycle so that no relying party ever sees a token signed by a key it has
not had the chance to fetch: pre-publish the next key, activate it once every cached JWKS has
expired, and drop the old one after the longest lifetime of anything it signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from idp_bridge.errors import BridgeError, ConfigurationError
from oidc.models import SigningKey

RSA_BITS = 2048
SIGNING_ALGORITHM = "RS256"
# The longest a relying party can go on using a JWKS fetched before a change (a pre-published key
# must be visible at least this long before it signs anything). It is the sum of the bridge's own
# key cache, the front response cache (idp_bridge.fastpath) and the max-age the JWKS is served
# with, so together they never add up to more.
JWKS_MAX_AGE_SECONDS = 600
# How long a worker trusts what it read of the key table (signing key, JWKS, verification keys).
# A rotation made by a management command in another process reaches every worker within this
# time; in the process that makes it, at once.
KEY_CACHE_SECONDS = 30
# How long a worker answers GET discovery and JWKS with a copy of its own answer (fastpath).
METADATA_RESPONSE_CACHE_SECONDS = 5
JWKS_HTTP_MAX_AGE_SECONDS = JWKS_MAX_AGE_SECONDS - KEY_CACHE_SECONDS - METADATA_RESPONSE_CACHE_SECONDS


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


@dataclass(frozen=True)
class KeySnapshot:
    """What the key table said at ``loaded_at`` (monotonic), ready to use: no query, no parsing."""

    loaded_at: float
    active: LoadedKey
    public_by_kid: Mapping[str, jwk.JWK]  # every key in the table, whatever its state
    jwks_body: bytes
    jwks_etag: str


_snapshot: KeySnapshot | None = None


def key_snapshot() -> KeySnapshot:
    """The key table as of at most KEY_CACHE_SECONDS ago.

    A snapshot read inside a transaction is used but not kept: rows it saw may still be rolled
    back (the first key is created on demand, possibly inside the token endpoint's transaction).
    """
    global _snapshot
    snapshot = _snapshot
    if snapshot is not None and time.monotonic() - snapshot.loaded_at < KEY_CACHE_SECONDS:
        return snapshot
    snapshot = _load_snapshot()
    if not transaction.get_connection(router.db_for_read(SigningKey)).in_atomic_block:
        _snapshot = snapshot
    return snapshot


def forget_cached_keys(**kwargs: Any) -> None:
    """Drop this process's snapshot (after any change to the key table made here)."""
    global _snapshot
    _snapshot = None


# Changes made in this process are seen at once; `flush` (between tests) sends post_migrate.
post_save.connect(forget_cached_keys, sender=SigningKey, dispatch_uid="oidc.keys.saved")
post_delete.connect(forget_cached_keys, sender=SigningKey, dispatch_uid="oidc.keys.deleted")
post_migrate.connect(forget_cached_keys, dispatch_uid="oidc.keys.migrated")


def _load_snapshot() -> KeySnapshot:
    rows = list(SigningKey.objects.all())
    active = next((r for r in rows if r.state == SigningKey.State.ACTIVE), None)
    if active is None:
        active = ensure_active_key()
        rows = list(SigningKey.objects.all())
    body = json.dumps({"keys": [r.public_jwk for r in _published(rows)]}, separators=(",", ":")).encode()
    return KeySnapshot(
        loaded_at=time.monotonic(),
        active=LoadedKey(kid=active.kid, jwk=_decrypt(active)),
        public_by_kid=MappingProxyType({r.kid: jwk.JWK(**r.public_jwk) for r in rows}),
        jwks_body=body,
        jwks_etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
    )


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
    return _published(list(SigningKey.objects.all()))


def _published(all_rows: list[SigningKey]) -> list[SigningKey]:
    now = timezone.now()
    rows = [
        r
        for r in all_rows
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
    upcoming = _new_key(SigningKey.State.NEXT)
    forget_cached_keys()
    return upcoming


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
    forget_cached_keys()
    return upcoming


def retire_expired_keys() -> list[str]:
    expired = SigningKey.objects.filter(state=SigningKey.State.RETIRING, retire_after__lte=timezone.now())
    kids = list(expired.values_list("kid", flat=True))
    expired.delete()
    with _lock:
        for kid in kids:
            _decrypted.pop(kid, None)
    forget_cached_keys()
    return kids


def sign(claims: dict[str, object], *, typ: str = "JWT") -> str:
    key = key_snapshot().active
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
    public = key_snapshot().public_by_kid.get(kid)
    if public is None:  # a key created in another process since the snapshot, or none of ours
        row = SigningKey.objects.filter(kid=kid).first()
        if row is None:
            raise InvalidJWT("signed by a key this bridge does not hold")
        public = jwk.JWK(**row.public_jwk)
    return parsed, public


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
