"""The result type and the contract every legacy scheme implements.

Nothing here knows a hash format; ``schemes.py`` holds the formats and ``registry.py`` picks one.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, Literal

#: What a scheme's own check can conclude about a (password, stored hash) pair.
Outcome = Literal["ok", "mismatch", "malformed_hash", "unsupported_scheme"]

#: Every ``Verification.reason``: a scheme's outcome, or a refusal the registry makes before any
#: scheme runs.
Reason = Literal[
    "ok",
    "mismatch",
    "empty_password",
    "nul_in_password",
    "no_hash",
    "unknown_format",
    "malformed_hash",
    "unsupported_scheme",
]


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking one password against one stored legacy value.

    It holds no password, hash or salt, so it is safe to log, audit and ``repr``.

    ``ok`` is true only when ``reason == "ok"``. ``scheme`` is the registry name of the scheme that
    was used or identified, or ``None`` when the stored value was not recognised. ``reason`` is one
    of :data:`Reason`:

    - ``ok``: the password matches.
    - ``mismatch``: a well-formed hash that the password does not match.
    - ``empty_password`` / ``nul_in_password``: refused before hashing (see DECISIONS.md).
    - ``no_hash``: the stored value is a marker (``None``, ``""``, ``!``, ``*``, ``!``- or
      ``*``-prefixed, ``x``, ``not cached``): the account has no usable password.
    - ``unknown_format``: no registered scheme recognises the stored value.
    - ``malformed_hash``: a recognised prefix with a broken body.
    - ``unsupported_scheme``: a recognised but refused variant (bcrypt ``$2x$``), a cost above the
      scheme's ceiling, or an explicit ``scheme=`` name that is not registered.
    """

    ok: bool
    scheme: str | None
    reason: Reason


class LegacyScheme(abc.ABC):
    """One legacy password hash format.

    Adding a scheme: subclass this, set ``name`` and ``prefixes``, implement :meth:`check`, state in
    the docstring how weak the scheme is, and add the class to ``schemes.SCHEMES``.

    The registry has already refused empty passwords, passwords containing NUL, passwords that
    cannot be encoded as UTF-8, and marker values before :meth:`check` runs.
    """

    #: The registry key, also accepted as ``verify_password(..., scheme=name)``.
    name: ClassVar[str]
    #: Prefixes of the stored value that identify this scheme. They must not overlap with any other
    #: scheme's prefixes; the registry checks this when it loads.
    prefixes: ClassVar[tuple[str, ...]]

    def identifies(self, stored: str) -> bool:
        """Whether ``stored`` looks like this scheme (by prefix). Must never raise."""
        return stored.startswith(self.prefixes)

    @abc.abstractmethod
    def check(self, password: str, stored: str, salt: str | None) -> Outcome:
        """Check ``password`` exactly as typed against ``stored``.

        ``salt`` is the separately stored salt, for schemes that keep it outside the hash; schemes
        that embed their salt ignore it. Must never raise for any ``stored`` string: parse strictly
        and return ``"malformed_hash"`` for anything the legacy system could not have produced.
        """
