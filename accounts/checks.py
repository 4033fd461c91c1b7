"""Start-up checks for the legacy user source: the mapping file and the live database."""

from __future__ import annotations

from typing import Any

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
    found: list[checks.CheckMessage] = [
        checks.Error(
            problem, hint="Fix the mapping file named by LEGACY_MAPPING or the database.", id="accounts.E002"
        )
        for problem in problems
    ]
    mapping = getattr(source, "mapping", None)
    if mapping is not None and mapping.site_salt_env:
        found += _site_salt_problems(mapping)
    return found


def _site_salt_problems(mapping: Any) -> list[checks.CheckMessage]:
    """A site salt that no configured scheme uses is silently ignored: say so (e.g. a Devise
    pepper on bcrypt, which the bridge cannot verify)."""
    from accounts.hashers import describe_scheme, known_schemes

    named = [name for name in (mapping.password_scheme, mapping.hex_scheme) if name]
    users = [n for n in known_schemes() if (info := describe_scheme(n)) is not None and info.uses_site_salt]
    unused = [n for n in named if (info := describe_scheme(n)) is not None and not info.uses_site_salt]
    if unused:
        return [
            checks.Error(
                f"{mapping.source}: [password] site_salt_env is set but scheme {unused[0]!r} never uses a site salt.",
                hint=f"Remove site_salt_env, or name a scheme that uses one: {', '.join(users)}.",
                id="accounts.E004",
            )
        ]
    if not named:
        return [
            checks.Warning(
                f"{mapping.source}: [password] site_salt_env is set; only these schemes use it: {', '.join(users)}.",
                hint="Hashes identified as any other scheme ignore the site salt; name the scheme in [password] scheme "
                "or hex_scheme to make this certain.",
                id="accounts.W003",
            )
        ]
    return []


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


@checks.register(deploy=True)
def legacy_audit_recency_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """Collisions among accounts that never logged in are known only from `legacy_audit --record`."""
    from datetime import timedelta

    from django.db import DatabaseError
    from django.utils import timezone

    from audit.models import AuditEvent

    try:
        recent = AuditEvent.objects.filter(
            event="legacy_audit.recorded", occurred_at__gte=timezone.now() - timedelta(days=2)
        ).exists()
    except DatabaseError:
        return []  # not migrated yet: nothing to say
    if recent:
        return []
    return [
        checks.Info(
            "`manage.py legacy_audit --record` has not run in the last two days.",
            hint="Run it before go-live and daily (cron): username collisions between accounts that have "
            "never logged in are only known to the bridge after it (docs/identity.md).",
            id="accounts.I001",
        )
    ]


@checks.register()
def globus_settings_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """The bridge as a Globus Auth client and this IdP as Globus knows it (docs/globus-linking.md)."""
    from idp_bridge.checks import DOMAIN

    client_id, secret = settings.BRIDGE_GLOBUS_CLIENT_ID, settings.BRIDGE_GLOBUS_CLIENT_SECRET
    if not client_id and not secret:
        return []  # self-service linking is off (the deploy check below says so)
    found: list[checks.CheckMessage] = []
    if not _is_uuid(client_id):
        found.append(
            checks.Error(
                f"BRIDGE_GLOBUS_CLIENT_ID={client_id!r} is not a Globus client id."
                if client_id
                else "BRIDGE_GLOBUS_CLIENT_SECRET is set but BRIDGE_GLOBUS_CLIENT_ID is not.",
                hint="Set BRIDGE_GLOBUS_CLIENT_ID to the Client UUID of the bridge's confidential app at "
                "app.globus.org (Settings > Developers), or unset both to turn Globus linking off.",
                id="accounts.E010",
            )
        )
    if not secret:
        found.append(
            checks.Error(
                "BRIDGE_GLOBUS_CLIENT_ID is set but BRIDGE_GLOBUS_CLIENT_SECRET is not.",
                hint="Create a client secret for that app at app.globus.org and set BRIDGE_GLOBUS_CLIENT_SECRET.",
                id="accounts.E011",
            )
        )
    if not _is_uuid(settings.BRIDGE_GLOBUS_IDP_ID):
        found.append(
            checks.Error(
                f"BRIDGE_GLOBUS_IDP_ID={settings.BRIDGE_GLOBUS_IDP_ID!r} is not a Globus identity-provider id."
                if settings.BRIDGE_GLOBUS_IDP_ID
                else "BRIDGE_GLOBUS_IDP_ID is not set.",
                hint="Set it to this IdP's id in Globus Auth: GET /v2/api/identity_providers?domains=<your "
                "domain> answers it once Globus has registered the bridge (docs/globus-linking.md).",
                id="accounts.E012",
            )
        )
    domains = settings.BRIDGE_GLOBUS_IDP_DOMAINS
    bad = [d for d in domains if not DOMAIN.match(d)]
    if bad or settings.BRIDGE_USERNAME_DOMAIN not in domains:
        found.append(
            checks.Error(
                f"BRIDGE_GLOBUS_IDP_DOMAINS={' '.join(domains)!r} "
                + (
                    f"has {bad[0]!r}, which is not a domain."
                    if bad
                    else "does not include BRIDGE_USERNAME_DOMAIN."
                ),
                hint="List the domains Globus registered for this IdP, separated by spaces; one of them must be "
                f"BRIDGE_USERNAME_DOMAIN ({settings.BRIDGE_USERNAME_DOMAIN!r}), which usernames end with.",
                id="accounts.E013",
            )
        )
    return found


@checks.register(deploy=True)
def globus_linking_deploy_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    import os

    if not settings.BRIDGE_GLOBUS_CLIENT_ID:
        return [
            checks.Info(
                "Self-service Globus linking is off (BRIDGE_GLOBUS_CLIENT_ID is not set).",
                hint="Register the bridge as a confidential app at app.globus.org and set BRIDGE_GLOBUS_CLIENT_ID, "
                "BRIDGE_GLOBUS_CLIENT_SECRET and BRIDGE_GLOBUS_IDP_ID (docs/globus-linking.md).",
                id="accounts.I010",
            )
        ]
    override = os.environ.get("GLOBUS_SDK_SERVICE_URL_AUTH", "")
    if override:
        return [
            checks.Warning(
                f"GLOBUS_SDK_SERVICE_URL_AUTH={override!r}: Globus links are checked against that server, "
                "not auth.globus.org.",
                hint="Unset GLOBUS_SDK_SERVICE_URL_AUTH in production; it is meant for staging and tests.",
                id="accounts.W010",
            )
        ]
    return []


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@checks.register()
def login_throttle_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """The brute-force protection's thresholds must make sense together (docs/security.md)."""
    found: list[checks.CheckMessage] = []
    if settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS < settings.BRIDGE_LOGIN_DELAY_SECONDS:
        found.append(
            checks.Error(
                f"BRIDGE_LOGIN_MAX_DELAY_SECONDS ({settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS:g}) is shorter "
                f"than BRIDGE_LOGIN_DELAY_SECONDS ({settings.BRIDGE_LOGIN_DELAY_SECONDS:g}).",
                hint="The cap on the progressive delay must be at least the first delay, e.g. 1 and 60.",
                id="accounts.E020",
            )
        )
    if settings.BRIDGE_LOGIN_LOCKOUT_SECONDS < settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS:
        found.append(
            checks.Error(
                f"BRIDGE_LOGIN_LOCKOUT_SECONDS ({settings.BRIDGE_LOGIN_LOCKOUT_SECONDS}) is shorter than "
                f"BRIDGE_LOGIN_MAX_DELAY_SECONDS ({settings.BRIDGE_LOGIN_MAX_DELAY_SECONDS:g}).",
                hint="A lockout must last longer than the longest delay before it, e.g. 900 and 60.",
                id="accounts.E021",
            )
        )
    for scope in ("ACCOUNT", "IP"):
        free = getattr(settings, f"BRIDGE_LOGIN_{scope}_FREE_FAILURES")
        lockout = getattr(settings, f"BRIDGE_LOGIN_{scope}_LOCKOUT_FAILURES")
        if lockout <= free:
            found.append(
                checks.Warning(
                    f"BRIDGE_LOGIN_{scope}_LOCKOUT_FAILURES ({lockout}) is not above "
                    f"BRIDGE_LOGIN_{scope}_FREE_FAILURES ({free}): there are no progressive delays "
                    "before the lockout.",
                    hint=f"Set BRIDGE_LOGIN_{scope}_FREE_FAILURES below the lockout threshold, e.g. 3 and 10.",
                    id="accounts.W020",
                )
            )
    if settings.BRIDGE_LOGIN_IP_LOCKOUT_FAILURES < settings.BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES:
        found.append(
            checks.Warning(
                "BRIDGE_LOGIN_IP_LOCKOUT_FAILURES is below BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES: one "
                "person's typos would lock everyone behind the same address (a campus NAT) first.",
                hint="Give addresses more room than usernames, e.g. 100 and 10.",
                id="accounts.W021",
            )
        )
    return found


@checks.register(checks.Tags.security, deploy=True)
def login_throttle_deploy_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    if settings.BRIDGE_LOGIN_THROTTLE:
        return []
    return [
        checks.Warning(
            "BRIDGE_LOGIN_THROTTLE is off: nothing limits password guessing on the login form.",
            hint="Unset BRIDGE_LOGIN_THROTTLE (it is on by default) in production.",
            id="accounts.W022",
        )
    ]
