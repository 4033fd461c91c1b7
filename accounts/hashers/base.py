"""The result types, the verification context, and the contract every legacy scheme implements.

Nothing here knows a hash format; ``schemes/`` holds the formats and ``registry.py`` picks one.
"""

from __future__ import annotations

import abc
import inspect
import string
from dataclasses import dataclass
from typing import ClassVar, Literal

#: What a scheme's own check can conclude about a (password, stored hash) pair. ``no_hash`` is for
#: wrappers whose inner value is a marker (``{CRYPT}!...``, a locked LDAP account).
Outcome = Literal["ok", "mismatch", "malformed_hash", "unsupported_scheme", "no_hash"]

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

SaltPosition = Literal["before", "after"]

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


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
      ``*``-prefixed, ``x``, ``not cached``, or ``{CRYPT}`` wrapping one): the account has no
      usable password.
    - ``unknown_format``: no registered scheme recognises the stored value.
    - ``malformed_hash``: a recognised prefix with a broken body (or a salt that is not text).
    - ``unsupported_scheme``: a recognised but refused variant (bcrypt ``$2x$``, DES crypt), a cost
      above the scheme's ceiling, or an explicit ``scheme=`` name that is not registered.
    """

    ok: bool
    scheme: str | None
    reason: Reason


@dataclass(frozen=True, slots=True)
class HashContext:
    """What a scheme may need besides the stored value. Every field is optional.

    - ``salt``: a per-user salt kept in its own column (``verify_password(..., salt=...)`` fills it).
      Only the salted hex schemes read it; schemes that embed their salt ignore it.
    - ``site_salt``: a site-wide salt or pepper from the legacy system's configuration (Moodle's
      ``$CFG->passwordsaltmain``). Read by ``moodle_md5`` and the salted hex schemes; its presence
      also makes a bare lower-case 32-hex value identify as ``moodle_md5`` rather than ``md5_hex``.
    - ``salt_position``: for the salted hex schemes, ``"after"`` hashes ``password + salt`` and
      ``"before"`` hashes ``salt + password`` (the salt being ``salt + site_salt``).
    - ``trim_whitespace``: strip PHP ``trim()``'s characters (space, tab, LF, CR, VT) from both
      ends of the password before hashing, as WordPress does for every password it hashes. The
      ``$wp$`` scheme always does it; set this for the other schemes of a WordPress table
      (``$P$``, bare MD5). This is the one normalisation DECISIONS.md allows.

    A context is built by the caller from configuration and the legacy row; ``salt_position`` is
    checked here (a typo is a configuration error), the rest when a verification uses it.
    """

    salt: str | None = None
    site_salt: str | None = None
    salt_position: SaltPosition = "after"
    trim_whitespace: bool = False

    def __post_init__(self) -> None:
        if self.salt_position not in ("before", "after"):
            raise ValueError(
                f"HashContext.salt_position must be 'before' or 'after', not {self.salt_position!r}"
            )


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """What an audit needs to know about one registered scheme; no secrets, safe to print.

    ``weakness`` is the scheme docstring's "Weakness:" paragraph, ``identification`` says how a
    stored value is recognised without an explicit mapping. ``needs_*`` means the scheme cannot
    verify the legacy system's hashes without that context field; ``uses_*`` that it reads the
    field when given. ``has_work_factor`` is false for single-pass hashes (no stretching at all).
    """

    name: str
    summary: str
    weakness: str
    identification: str
    prefixes: tuple[str, ...]
    needs_salt: bool
    needs_site_salt: bool
    uses_salt: bool
    uses_site_salt: bool
    has_work_factor: bool


class LegacyScheme(abc.ABC):
    """One legacy password hash format.

    Adding a scheme: subclass this, set ``name`` and ``prefixes`` (or override :meth:`identifies`
    and list ``samples``), implement :meth:`check`, give the docstring a paragraph starting with
    "Weakness:" that says how weak the scheme is, and add the class to ``schemes.SCHEMES``.

    The registry has already refused empty passwords, passwords containing NUL, passwords that
    cannot be encoded as UTF-8, marker values, and non-text salts before :meth:`check` runs, and
    has trimmed the password if the scheme or the context asks for it.
    """

    #: The registry key, also accepted as ``verify_password(..., scheme=name)``.
    name: ClassVar[str]
    #: Prefixes of the stored value that identify this scheme. They must not overlap with any other
    #: scheme's prefixes (compared case-insensitively); the registry checks this when it loads.
    prefixes: ClassVar[tuple[str, ...]] = ()
    #: Whether the prefixes match in any case (LDAP scheme tags: OpenLDAP compares them so).
    case_insensitive_prefixes: ClassVar[bool] = False
    #: Stored values this scheme identifies; the registry checks at load time that no other scheme
    #: claims them. Defaults to the prefixes themselves; pattern-identified schemes must set it.
    samples: ClassVar[tuple[str, ...]] = ()
    #: How identification works, for ``describe_scheme``; derived from the prefixes if empty.
    identification: ClassVar[str] = ""
    #: Context fields this scheme reads (``uses_*``) or cannot do without (``needs_*``).
    uses_salt: ClassVar[bool] = False
    uses_site_salt: ClassVar[bool] = False
    needs_salt: ClassVar[bool] = False
    needs_site_salt: ClassVar[bool] = False
    #: Whether the legacy system trims the password before hashing, whatever the context says.
    always_trims: ClassVar[bool] = False
    #: False for a single pass of a fast hash: such a value cannot serve as the dummy hash.
    has_work_factor: ClassVar[bool] = True

    def identifies(self, stored: str, context: HashContext) -> bool:
        """Whether ``stored`` looks like this scheme. Must never raise."""
        if self.case_insensitive_prefixes:
            # ASCII-only folding: str.upper() would turn "{ßHA}" into "{SSHA}".
            return stored.translate(_ASCII_UPPER).startswith(
                tuple(p.translate(_ASCII_UPPER) for p in self.prefixes)
            )
        return stored.startswith(self.prefixes)

    @abc.abstractmethod
    def check(self, password: str, stored: str, context: HashContext) -> Outcome:
        """Check ``password`` against ``stored``, using ``context`` where the format needs it.

        Must never raise for any ``stored`` string or context: parse strictly and return
        ``"malformed_hash"`` for anything the legacy system could not have produced.
        """

    @classmethod
    def describe(cls) -> SchemeInfo:
        """The scheme's :class:`SchemeInfo`, from its class attributes and docstring."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        paragraphs = [" ".join(p.split()) for p in doc.split("\n\n")]
        weakness = next(
            (p.removeprefix("Weakness:").strip() for p in paragraphs if p.startswith("Weakness:")), ""
        )
        identification = cls.identification
        if not identification:
            if cls.prefixes:
                identification = "prefix " + ", ".join(cls.prefixes)
                if cls.case_insensitive_prefixes:
                    identification += " (any case)"
            else:
                identification = "explicit scheme only"
        return SchemeInfo(
            name=cls.name,
            summary=doc.split("\n", 1)[0],
            weakness=weakness,
            identification=identification,
            prefixes=cls.prefixes,
            needs_salt=cls.needs_salt,
            needs_site_salt=cls.needs_site_salt,
            uses_salt=cls.uses_salt or cls.needs_salt,
            uses_site_salt=cls.uses_site_salt or cls.needs_site_salt,
            has_work_factor=cls.has_work_factor,
        )
