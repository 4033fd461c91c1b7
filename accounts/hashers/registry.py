"""The registry: identify a stored legacy value and verify a password against it.

The registry is built once, on first use, from ``schemes.SCHEMES``, and refuses to load if two
schemes share a name or if one scheme's prefix could swallow another's, so that identification
never depends on order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from .base import LegacyScheme, Verification
from .schemes import SCHEMES

#: Stored values that mean "no password" rather than a hash: shadow's "x", locked and disabled
#: accounts, Moodle's external-auth placeholder. Any value starting with "!" or "*" is also one.
_MARKERS = frozenset({"", "x", "not cached"})
_MARKER_PREFIXES = ("!", "*")


@functools.cache
def _registry() -> Mapping[str, LegacyScheme]:
    schemes: dict[str, LegacyScheme] = {}
    for scheme_class in SCHEMES:
        scheme = scheme_class()
        if scheme.name in schemes:
            raise RuntimeError(f"two legacy hash schemes are named {scheme.name!r}")
        for other in schemes.values():
            for mine in scheme.prefixes:
                for theirs in other.prefixes:
                    if mine.startswith(theirs) or theirs.startswith(mine):
                        raise RuntimeError(
                            f"legacy hash schemes {scheme.name!r} and {other.name!r} have "
                            f"overlapping prefixes {mine!r} and {theirs!r}"
                        )
        schemes[scheme.name] = scheme
    return MappingProxyType(schemes)


def _is_marker(stored: str | None) -> bool:
    return stored is None or stored.strip() in _MARKERS or stored.startswith(_MARKER_PREFIXES)


def known_schemes() -> list[str]:
    """The names accepted as ``verify_password(..., scheme=...)``, sorted."""
    return sorted(_registry())


def identify_scheme(stored: str) -> str | None:
    """The name of the scheme whose format ``stored`` has, or ``None`` (markers included).

    Identification is by prefix only; whether the rest of the value is well formed is decided by
    ``verify_password`` (``malformed_hash``).
    """
    if _is_marker(stored):
        return None
    for scheme in _registry().values():
        if scheme.identifies(stored):
            return scheme.name
    return None


def verify_password(
    password: str, stored: str | None, *, salt: str | None = None, scheme: str | None = None
) -> Verification:
    """Check ``password``, exactly as typed, against the legacy ``stored`` value. Never raises.

    ``scheme`` names the scheme explicitly (from the legacy mapping) and overrides identification;
    ``salt`` is a separately stored salt for schemes that keep one outside the hash (the current
    schemes all embed theirs and ignore it).

    Refusals come before any hashing, in this order: a marker instead of a hash (``no_hash``); an
    empty password (``empty_password``) or one containing NUL (``nul_in_password``), whatever the
    hash says; a value no scheme recognises (``unknown_format``) or an explicit scheme that is not
    registered (``unsupported_scheme``). A password that cannot be encoded as UTF-8 (a lone
    surrogate, which no browser can send) matches no hash (``mismatch``).

    Refusals are cheap, so a caller that must not reveal which accounts exist or are locked should
    follow a refusal with ``dummy_verification()``.
    """
    if stored is None or _is_marker(stored):
        return Verification(ok=False, scheme=None, reason="no_hash")
    registry = _registry()
    name = identify_scheme(stored) if scheme is None else scheme
    if password == "":
        return Verification(ok=False, scheme=name, reason="empty_password")
    if "\x00" in password:
        return Verification(ok=False, scheme=name, reason="nul_in_password")
    if name is None:
        return Verification(ok=False, scheme=None, reason="unknown_format")
    verifier = registry.get(name)
    if verifier is None:
        return Verification(ok=False, scheme=name, reason="unsupported_scheme")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return Verification(ok=False, scheme=name, reason="mismatch")
    outcome = verifier.check(password, stored, salt)
    return Verification(ok=outcome == "ok", scheme=name, reason=outcome)
