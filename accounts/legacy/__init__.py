"""The legacy user-source contract.

A read-only user store in the style of Keycloak's User Storage SPI: look a user up by the login
name or by the immutable legacy id. "Not found" is ``None``; several matching rows is an error,
never "pick the first"; an outage is ``LegacySourceUnavailable`` (a 503 for the user, never
"wrong password"). There is deliberately no write side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

from idp_bridge.errors import BridgeError, ConfigurationError


class LegacySourceError(BridgeError):
    """Root of the legacy user source's errors."""


class LegacySourceUnavailable(LegacySourceError):
    """The legacy database cannot be reached or did not answer in time."""


class DuplicateLegacyUser(LegacySourceError):
    """More than one legacy row matches one login name: an admin must resolve it.

    ``legacy_ids`` holds the ids of the matching rows that were seen (at least two; the lookup
    stops reading after two, so there may be more).
    """

    def __init__(self, message: str, legacy_ids: Iterable[str] = (), by: str = "login") -> None:
        super().__init__(message)
        self.legacy_ids: tuple[str, ...] = tuple(legacy_ids)
        self.by = by  # "login" (a username), "email" or "id"


class LegacyRowUnreadable(LegacySourceError):
    """A matching row exists but a value in it cannot be read (e.g. a date the driver cannot load).

    Never "not found": an unreadable row is not a missing row, and must not tombstone a subject.
    """


class LegacyMappingError(ConfigurationError):
    """The mapping file is invalid, or does not fit the live legacy database.

    The message names the file, the key and the fix.
    """


#: Every value of ``LegacyUser.state``. Only "active" may log in.
LEGACY_STATES: Final = ("active", "inactive", "suspended", "deleted", "expired", "locked")


@dataclass(frozen=True, slots=True)
class LegacyUser:
    """One legacy account as the mapping file describes it. Values never written back.

    ``state`` says whether the account may log in ("active") and, if not, why ("inactive",
    "suspended", "deleted", "expired", "locked"); ``state_reason`` is the mapping condition that
    decided it, for the audit trail (never shown to the person logging in). ``is_active`` is
    ``state == "active"``; constructing with ``is_active=False`` alone gives state "inactive".

    The password fields are what a verifier needs, as the mapping describes them: ``salt`` (per
    user), ``site_salt`` (one for the whole site, from the environment variable the mapping names),
    ``salt_position`` ("before" or "after" the password), ``trim_password`` (the portal trimmed
    surrounding whitespace before hashing, as WordPress does) and ``password_scheme`` (an explicit
    scheme name; None: identify the hash by its format).
    """

    legacy_id: str  # immutable primary key, rendered as text
    username: str
    password_hash: str | None
    salt: str | None = None
    email: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    organization: str | None = None
    is_active: bool = True
    password_scheme: str | None = None  # explicit scheme from the mapping, else identified by format
    site_salt: str | None = None
    salt_position: str = "after"
    trim_password: bool = False
    state: str = "active"
    state_reason: str | None = None

    def __post_init__(self) -> None:
        if self.state not in LEGACY_STATES:
            raise ValueError(f"state must be one of {LEGACY_STATES}, not {self.state!r}")
        if self.salt_position not in ("before", "after"):
            raise ValueError(f'salt_position must be "before" or "after", not {self.salt_position!r}')
        if self.state == "active" and not self.is_active:
            object.__setattr__(self, "state", "inactive")
        object.__setattr__(self, "is_active", self.state == "active")

    def __repr__(self) -> str:  # never print the hash or salts (they end up in logs and tracebacks)
        return f"LegacyUser(legacy_id={self.legacy_id!r}, username={self.username!r}, state={self.state!r})"


@dataclass(frozen=True, slots=True)
class LegacyRowError:
    """A legacy row that cannot become a LegacyUser (reported by ``iter_all``, never raised).

    ``legacy_id`` and ``username`` are what could be read (None when missing); ``problem`` says
    what is wrong in plain words and never contains a password, hash or salt.
    """

    legacy_id: str | None
    username: str | None
    problem: str


class LegacyUserSource(Protocol):
    def get_by_login(self, login: str) -> LegacyUser | None:
        """The account a person types ``login`` for, or None. Raises LegacySourceUnavailable."""

    def get_by_id(self, legacy_id: str) -> LegacyUser | None:
        """The account with this immutable id, or None. Raises LegacySourceUnavailable."""

    def iter_all(
        self, batch_size: int = 1000, *, errors: Callable[[LegacyRowError], None] | None = None
    ) -> Iterator[LegacyUser]:
        """Every account, in id order, streamed in batches of ``batch_size`` rows.

        Rows that cannot be mapped (no id, no username, an id seen twice) are not yielded: each is
        passed to ``errors`` (or logged, without it) and the iteration goes on. Raises
        LegacySourceUnavailable if the database stops answering.
        """
        ...

    def count(self) -> int:
        """How many rows the whole-database listing has (unmappable ones included)."""
        ...

    def check(self) -> list[str]:
        """Problems with the mapping against the live database, in plain words ([] if none).

        Raises LegacySourceUnavailable when the database does not answer.
        """


# --- the configured source -------------------------------------------------------------------

_source: LegacyUserSource | None = None
_source_lock = threading.Lock()


def get_user_source() -> LegacyUserSource:
    """The process-wide legacy user source, built once from Django settings.

    Settings: ``LEGACY_DATABASE_URL`` (required), ``LEGACY_MAPPING`` (required: path of the TOML
    mapping file), ``LEGACY_CONNECT_TIMEOUT`` and ``LEGACY_STATEMENT_TIMEOUT`` (seconds, default 5).
    Raises ConfigurationError (LegacyMappingError for the mapping file) naming the setting to fix.
    Building it does not connect; the first lookup (or ``check()``) does.
    """
    global _source
    with _source_lock:
        if _source is None:
            _source = _build_source_from_settings()
        return _source


def reset_user_source() -> None:
    """Forget (and close) the cached source, so the next ``get_user_source()`` rebuilds it."""
    global _source
    with _source_lock:
        source, _source = _source, None
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _build_source_from_settings() -> LegacyUserSource:
    from django.conf import settings

    from accounts.legacy.mapping import load_mapping
    from accounts.legacy.sql import SqlUserSource

    url = getattr(settings, "LEGACY_DATABASE_URL", None)
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            "LEGACY_DATABASE_URL is not set: point it at the portal's user database, e.g. "
            "postgresql://reader@db.example.org/portal, mysql://reader:password@db.example.org/portal "
            "or sqlite:////srv/portal/portal.db"
        )
    mapping_path = getattr(settings, "LEGACY_MAPPING", None)
    if not mapping_path:
        raise ConfigurationError(
            "LEGACY_MAPPING is not set: give the path of the TOML file that maps the portal's user "
            "table (see docs/legacy-mapping.md)"
        )
    timeouts: dict[str, float] = {}
    for setting, default in (("LEGACY_CONNECT_TIMEOUT", 5.0), ("LEGACY_STATEMENT_TIMEOUT", 5.0)):
        value = getattr(settings, setting, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 300:
            raise ConfigurationError(
                f"{setting} must be a number of seconds between 0 and 300, not {value!r}"
            )
        timeouts[setting] = float(value)
    mapping = load_mapping(mapping_path)
    try:
        return SqlUserSource(
            url,
            mapping,
            connect_timeout=timeouts["LEGACY_CONNECT_TIMEOUT"],
            statement_timeout=timeouts["LEGACY_STATEMENT_TIMEOUT"],
        )
    except LegacyMappingError:
        raise
    except ConfigurationError as exc:
        raise ConfigurationError(f"LEGACY_DATABASE_URL: {exc}") from exc
