"""Start-up checks for settings read from the environment: each names the variable and the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from idp_bridge import branding, env
from idp_bridge.net import is_loopback

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$")
MIN_SECRET_LENGTH = 32


@checks.register()
def environment_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for name, hint in env.problems.missing:
        found.append(checks.Error(f"{name} is not set.", hint=hint, id="idp_bridge.E001"))
    for name, what in env.problems.invalid:
        found.append(
            checks.Error(f"{name} {what}.", hint=f"Fix {name} in the environment.", id="idp_bridge.E002")
        )
    if settings.BRIDGE_ISSUER:
        found += _issuer_problems(settings.BRIDGE_ISSUER)
    domain = settings.BRIDGE_USERNAME_DOMAIN
    if domain and not DOMAIN.match(domain):
        found.append(
            checks.Error(
                f"BRIDGE_USERNAME_DOMAIN={domain!r} is not a domain name.",
                hint="Use the bare domain users' usernames end with, e.g. portal.example.edu (no @, no scheme).",
                id="idp_bridge.E004",
            )
        )
    secret = settings.BRIDGE_KEY_ENCRYPTION_SECRET
    if secret and len(secret) < MIN_SECRET_LENGTH:
        found.append(
            checks.Error(
                f"BRIDGE_KEY_ENCRYPTION_SECRET is {len(secret)} characters long; it needs at least {MIN_SECRET_LENGTH}.",
                hint="Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`.",
                id="idp_bridge.E005",
            )
        )
    token = settings.BRIDGE_METRICS_TOKEN
    if token and len(token) < MIN_SECRET_LENGTH:
        found.append(
            checks.Error(
                f"BRIDGE_METRICS_TOKEN is {len(token)} characters long; it needs at least {MIN_SECRET_LENGTH}.",
                hint="Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
                "and give the same value to Prometheus (bearer_token / authorization.credentials).",
                id="idp_bridge.E007",
            )
        )
    if settings.BRIDGE_DEMO and not is_loopback(urlsplit(settings.BRIDGE_ISSUER).hostname):
        found.append(
            checks.Error(
                "BRIDGE_DEMO is on for a non-loopback issuer.",
                hint="Demo mode adds a test relying party and demo accounts; unset BRIDGE_DEMO in production.",
                id="idp_bridge.E006",
            )
        )
    return found


@checks.register()
def pool_size_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """Every gunicorn thread needs a pooled connection: a login holds one while it waits on a slow
    legacy database (docs/security.md), so a worker with more threads than connections queues."""
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    threads = os.environ.get("GUNICORN_THREADS", "").strip() or "4"  # gunicorn_conf's default
    if not isinstance(pool, dict) or not threads.isdigit():
        return []  # no pool (SQLite, or pooling off), or a bad value gunicorn itself refuses
    size = int(pool["max_size"])
    if int(threads) <= size:
        return []
    return [
        checks.Warning(
            f"GUNICORN_THREADS={threads} is more than BRIDGE_DB_POOL_SIZE={size}: a worker's threads "
            "would queue for a database connection while logins wait on the legacy database.",
            hint=f"Set BRIDGE_DB_POOL_SIZE to at least {threads}, or GUNICORN_THREADS to at most {size}.",
            id="idp_bridge.W001",
        )
    ]


@checks.register()
def branding_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """Links on the sign-in pages must be safe; colours should keep WCAG AA contrast."""
    https_required = urlsplit(settings.BRIDGE_ISSUER).scheme == "https"
    found = branding.problems(branding.current(), https_required=https_required)
    template_dir = settings.BRIDGE_TEMPLATE_DIR
    if template_dir and not Path(template_dir).is_dir():
        found.append(
            checks.Error(
                f"BRIDGE_TEMPLATE_DIR={template_dir!r} is not a directory.",
                hint="Point BRIDGE_TEMPLATE_DIR at the directory holding your base.html (docs/branding.md), "
                "or unset it.",
                id="branding.E003",
            )
        )
    return found


def _issuer_problems(issuer: str) -> list[checks.CheckMessage]:
    parts = urlsplit(issuer)
    hint = (
        "Set BRIDGE_ISSUER to e.g. https://idp.example.edu (https, no query, no fragment, no trailing slash)."
    )
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        return [
            checks.Error(
                f"BRIDGE_ISSUER={issuer!r} is not a valid issuer URL.", hint=hint, id="idp_bridge.E003"
            )
        ]
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return [
            checks.Error(
                f"BRIDGE_ISSUER={issuer!r} uses http on a public host name.",
                hint="OpenID Connect requires an https issuer; http is accepted only on loopback for development.",
                id="idp_bridge.E003",
            )
        ]
    return []
