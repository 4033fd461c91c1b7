"""A verification whose result is thrown away, so that "no such user" costs as much as a real check.

Which hash the dummy verification runs against, first match wins:

1. the value passed to ``set_dummy_scheme()``;
2. the Django setting ``BRIDGE_DUMMY_HASH``, read on first use and only if Django settings are
   configured (this module imports without Django);
3. a built-in bcrypt hash at cost 12.

Set it to a hash of the costliest scheme, with the costliest parameters, that legacy users have,
or unknown users answer faster than known ones.
"""

from __future__ import annotations

import secrets
import threading

from .registry import describe_scheme, verify_password

#: bcrypt, cost 12, of a random string nobody kept. Verifying anything against it is a mismatch.
DEFAULT_DUMMY_HASH = "$2b$12$pYR8vVZhU3tuhxx3tjiEhu4ujFSe2nGDwaKC9yxCgyHSiPDc2kJyK"

_lock = threading.Lock()
_pinned: str | None = None
_resolved: str | None = None


def _random_password() -> str:
    return secrets.token_urlsafe(16)


def check_dummy_hash(stored: str) -> str | None:
    """Why ``stored`` cannot serve as the dummy hash, or ``None`` if it can.

    It can if a verification against it runs the full scheme and reports ``mismatch``, and the
    scheme has a work factor (a single MD5 or SHA pass costs nothing, whatever it is identified
    as). This costs one verification; a system check can call it to validate ``BRIDGE_DUMMY_HASH``
    at start-up. The message names the scheme and the reason, never the value.
    """
    result = verify_password(_random_password(), stored)
    if result.reason != "mismatch":
        return f"not usable as a dummy hash: scheme {result.scheme!r}, reason {result.reason!r}"
    info = describe_scheme(result.scheme) if result.scheme is not None else None
    if info is None or not info.has_work_factor:
        return f"not usable as a dummy hash: scheme {result.scheme!r} has no work factor"
    return None


def set_dummy_scheme(stored_hash_example: str | None) -> None:
    """Run future dummy verifications against ``stored_hash_example``; ``None`` forgets it.

    Pass a hash with the scheme and cost of the costliest legacy hashes (a legacy row's own hash
    will do: the dummy password is random and the result is discarded). Raises ``ValueError`` if
    the value is not a well-formed hash of a registered scheme.
    """
    global _pinned, _resolved
    if stored_hash_example is not None:
        problem = check_dummy_hash(stored_hash_example)
        if problem is not None:
            raise ValueError(f"set_dummy_scheme(): {problem}")
    with _lock:
        _pinned = stored_hash_example
        _resolved = None


def _setting() -> str | None:
    """``BRIDGE_DUMMY_HASH`` if Django is installed, configured and sets it to a non-empty value."""
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency, but this module must not need it
        return None
    if not settings.configured:
        return None
    value: object = getattr(settings, "BRIDGE_DUMMY_HASH", None)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"BRIDGE_DUMMY_HASH must be a string, not {type(value).__name__}")
    problem = check_dummy_hash(value)
    if problem is not None:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"BRIDGE_DUMMY_HASH is {problem}")
    return value


def dummy_hash() -> str:
    """The hash ``dummy_verification()`` runs against (resolved once, then cached)."""
    global _resolved
    with _lock:
        if _pinned is not None:
            return _pinned
        if _resolved is None:
            _resolved = _setting() or DEFAULT_DUMMY_HASH
        return _resolved


def dummy_verification() -> None:
    """Verify a random password against the dummy hash and discard the result.

    Takes as long as one verification of the configured dummy scheme (bcrypt cost 12, about
    0.25 s, by default). Call it when the user does not exist, or when ``verify_password`` refused
    without hashing, so that response time does not tell the two apart.
    """
    verify_password(_random_password(), dummy_hash())
