"""Legacy password verification: the one place that knows password hash formats.

Contract (``base.py`` holds the types, ``schemes/`` one verifier per format, ``registry.py``
identification and dispatch, ``dummy.py`` the timing equaliser):

    verify_password(password, stored, *, salt=None, scheme=None, context=None) -> Verification
    HashContext(salt=None, site_salt=None, salt_position="after", trim_whitespace=False)
    identify_scheme(stored, *, context=None) -> str | None
    known_schemes() -> list[str]
    describe_scheme(name) -> SchemeInfo | None   # weakness, identification, context needs
    dummy_verification() -> None     # costs as much as the costliest configured scheme
    set_dummy_scheme(stored_hash_example | None) -> None
    check_dummy_hash(stored) -> str | None   # for a start-up system check on BRIDGE_DUMMY_HASH

``Verification.reason`` is a short machine-readable code for the audit trail and logs. It never
contains the password, the hash or the salt. ``verify_password`` never raises and never
normalises, trims or re-encodes the password (see "Passwords" in DECISIONS.md), except for the
trimming WordPress itself does (``$wp$`` hashes, or ``HashContext(trim_whitespace=True)``).

Legacy schemes are deliberately not Django ``PASSWORD_HASHERS``: the legacy database is read-only,
so nothing here hashes a new password or upgrades a stored one.
"""

from .base import HashContext, LegacyScheme, Outcome, Reason, SchemeInfo, Verification
from .dummy import check_dummy_hash, dummy_verification, set_dummy_scheme
from .registry import describe_scheme, identify_scheme, known_schemes, verify_password

__all__ = [
    "HashContext",
    "LegacyScheme",
    "Outcome",
    "Reason",
    "SchemeInfo",
    "Verification",
    "check_dummy_hash",
    "describe_scheme",
    "dummy_verification",
    "identify_scheme",
    "known_schemes",
    "set_dummy_scheme",
    "verify_password",
]
