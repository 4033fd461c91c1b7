"""The registry: identify a stored legacy value and verify a password against it.

The registry is built once, on first use, from ``schemes.SCHEMES``, and refuses to load if two
schemes share a name, if one scheme's prefix could swallow another's (compared case-insensitively),
if a scheme's sample value is claimed by more than one scheme, or if a scheme's docstring does not
say how weak it is. Identification therefore never depends on order; a value that several schemes
claim anyway is not guessed at (``unknown_format``).
"""

from __future__ import annotations

import dataclasses
import functools
import string
from collections.abc import Mapping
from types import MappingProxyType

from .base import HashContext, LegacyScheme, SchemeInfo, Verification
from .schemes import SCHEMES

#: Stored values that mean "no password" rather than a hash: shadow's "x", locked and disabled
#: accounts, Moodle's external-auth placeholder. Any value starting with "!" or "*" is also one.
_MARKERS = frozenset({"", "x", "not cached"})
_MARKER_PREFIXES = ("!", "*")

#: PHP ``trim()``'s default characters, for WordPress (NUL never gets this far).
_PHP_TRIM = " \t\n\r\x0b\x00"

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_DEFAULT_CONTEXT = HashContext()
#: Contexts the load-time sample check identifies under (identification may read the context).
_PROBE_CONTEXTS = (_DEFAULT_CONTEXT, HashContext(salt="s", site_salt="p"))


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
                    a, b = mine.translate(_ASCII_LOWER), theirs.translate(_ASCII_LOWER)
                    if a.startswith(b) or b.startswith(a):
                        raise RuntimeError(
                            f"legacy hash schemes {scheme.name!r} and {other.name!r} have "
                            f"overlapping prefixes {mine!r} and {theirs!r}"
                        )
        if not scheme.describe().weakness:
            raise RuntimeError(
                f"legacy hash scheme {scheme.name!r} has no 'Weakness:' paragraph in its docstring"
            )
        schemes[scheme.name] = scheme
    _check_samples(schemes)
    return MappingProxyType(schemes)


def _check_samples(schemes: Mapping[str, LegacyScheme]) -> None:
    """Every scheme identifies its own samples, and no sample is claimed by two schemes."""
    for scheme in schemes.values():
        samples = scheme.samples or scheme.prefixes
        if scheme.case_insensitive_prefixes:
            samples = (*samples, *(p.translate(_ASCII_LOWER) for p in scheme.prefixes))
        for sample in samples:
            claimed_by_owner = False
            for context in _PROBE_CONTEXTS:
                claimants = [s.name for s in schemes.values() if s.identifies(sample, context)]
                if len(claimants) > 1:
                    raise RuntimeError(
                        f"legacy hash schemes {claimants} all identify {scheme.name!r}'s sample {sample!r}"
                    )
                claimed_by_owner = claimed_by_owner or claimants == [scheme.name]
            if not claimed_by_owner:
                raise RuntimeError(
                    f"legacy hash scheme {scheme.name!r} does not identify its sample {sample!r}"
                )


def _is_marker(stored: str | None) -> bool:
    return stored is None or stored.strip() in _MARKERS or stored.startswith(_MARKER_PREFIXES)


def known_schemes() -> list[str]:
    """The names accepted as ``verify_password(..., scheme=...)``, sorted."""
    return sorted(_registry())


def describe_scheme(name: str) -> SchemeInfo | None:
    """What an audit reports about scheme ``name`` (weakness, identification, context needs).

    ``None`` if no such scheme is registered.
    """
    scheme = _registry().get(name)
    return None if scheme is None else scheme.describe()


def identify_scheme(stored: str, *, context: HashContext | None = None) -> str | None:
    """The name of the scheme whose format ``stored`` has, or ``None`` (markers included).

    Identification is by prefix or by shape (hex length, ASP.NET's base64 layout); whether the
    rest of the value is well formed is decided by ``verify_password`` (``malformed_hash``).
    ``context`` matters only for a lower-case 32-hex value: with a ``site_salt`` it is
    ``moodle_md5``, without one ``md5_hex``.
    """
    if not isinstance(stored, str) or _is_marker(stored):
        return None
    context = _DEFAULT_CONTEXT if context is None else context
    claimants = [scheme.name for scheme in _registry().values() if scheme.identifies(stored, context)]
    return claimants[0] if len(claimants) == 1 else None


def verify_password(
    password: str,
    stored: str | None,
    *,
    salt: str | None = None,
    scheme: str | None = None,
    context: HashContext | None = None,
) -> Verification:
    """Check ``password``, exactly as typed, against the legacy ``stored`` value.

    Never raises for any password, stored value or salt; only a ``context`` that is not a
    :class:`HashContext` (a programming error) raises ``TypeError``.

    ``scheme`` names the scheme explicitly (from the legacy mapping) and overrides identification.
    ``context`` carries what some schemes need besides the stored value (a salt column, a site
    salt, the salt's position, WordPress's trimming); ``salt`` is shorthand for ``context.salt``
    and, when given, replaces it. Schemes that embed their salt ignore the context's salts.

    Refusals come before any hashing, in this order: a marker instead of a hash (``no_hash``); an
    empty password (``empty_password``) or one containing NUL (``nul_in_password``), whatever the
    hash says; a value no scheme recognises (``unknown_format``) or an explicit scheme that is not
    registered (``unsupported_scheme``); a salt or site salt that is not text (``malformed_hash``).
    A password that cannot be encoded as UTF-8 (a lone surrogate, which no browser can send)
    matches no hash (``mismatch``). Only WordPress's ``$wp$`` (always) and a context with
    ``trim_whitespace`` trim the password, as PHP's ``trim()`` does; a password that is nothing
    but such whitespace is then ``empty_password``.

    Refusals are cheap, so a caller that must not reveal which accounts exist or are locked should
    follow a refusal with ``dummy_verification()``.
    """
    if context is None:
        context = _DEFAULT_CONTEXT
    elif not isinstance(context, HashContext):
        raise TypeError(f"context must be a HashContext, not {type(context).__name__}")
    if salt is not None:
        context = dataclasses.replace(context, salt=salt)
    if not isinstance(stored, str) or _is_marker(stored):
        return Verification(ok=False, scheme=None, reason="no_hash")
    registry = _registry()
    name = identify_scheme(stored, context=context) if scheme is None else scheme
    if password is None or password == "":
        return Verification(ok=False, scheme=name, reason="empty_password")
    if not isinstance(password, str):
        return Verification(ok=False, scheme=name, reason="mismatch")
    if "\x00" in password:
        return Verification(ok=False, scheme=name, reason="nul_in_password")
    if name is None:
        return Verification(ok=False, scheme=None, reason="unknown_format")
    verifier = registry.get(name)
    if verifier is None:
        return Verification(ok=False, scheme=name, reason="unsupported_scheme")
    if not all(value is None or isinstance(value, str) for value in (context.salt, context.site_salt)):
        return Verification(ok=False, scheme=name, reason="malformed_hash")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return Verification(ok=False, scheme=name, reason="mismatch")
    if verifier.always_trims or context.trim_whitespace:
        password = password.strip(_PHP_TRIM)
        if password == "":
            return Verification(ok=False, scheme=name, reason="empty_password")
    outcome = verifier.check(password, stored, context)
    return Verification(ok=outcome == "ok", scheme=name, reason=outcome)
