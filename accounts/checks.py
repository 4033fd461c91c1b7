"""Start-up checks for the legacy user source: the mapping file and the live database."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from accounts.hashers import check_dummy_hash
from accounts.legacy import LegacySourceUnavailable, get_user_source
from idp_bridge.errors import ConfigurationError


@checks.register()
def legacy_source_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    if not settings.LEGACY_DATABASE_URL or not settings.LEGACY_MAPPING:
        return []  # reported as missing settings by idp_bridge.E001
    try:
        source = get_user_source()
        problems = source.check()
    except ConfigurationError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix the file named by LEGACY_MAPPING (docs/legacy-mapping.md).",
                id="accounts.E001",
            )
        ]
    except LegacySourceUnavailable as exc:
        return [
            checks.Warning(
                f"The legacy database did not answer: {exc}",
                hint="Check LEGACY_DATABASE_URL and that this host may connect; logins answer 503 until it does.",
                id="accounts.W001",
            )
        ]
    return [
        checks.Error(
            problem, hint="Fix the mapping file named by LEGACY_MAPPING or the database.", id="accounts.E002"
        )
        for problem in problems
    ]


@checks.register()
def dummy_hash_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    if not settings.BRIDGE_DUMMY_HASH:
        return []
    problem = check_dummy_hash(settings.BRIDGE_DUMMY_HASH)
    if problem is None:
        return []
    return [
        checks.Error(
            f"BRIDGE_DUMMY_HASH is {problem}.",
            hint="Set it to a real hash in the portal's costliest format (any password), or unset it.",
            id="accounts.E003",
        )
    ]
