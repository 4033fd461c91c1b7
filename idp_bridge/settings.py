"""Settings for idp-bridge, read once from the environment.

Every variable is documented in docs/configuration.md. A missing or malformed value is reported by
a system check (ids ``idp_bridge.E0xx``) with the variable's name and the fix; secrets have no
defaults.
"""

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from idp_bridge import env
from idp_bridge.logs import LOG_FORMATS, logging_config
from oidc.policy import pkce_required

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(env.optional("BRIDGE_STATE_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env.required(
    "DJANGO_SECRET_KEY",
    "Set DJANGO_SECRET_KEY to a long random value, e.g. "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
)
DEBUG = env.boolean("DJANGO_DEBUG", False)

# --- The issuer -------------------------------------------------------------------------------
BRIDGE_ISSUER = env.required(
    "BRIDGE_ISSUER",
    "Set BRIDGE_ISSUER to the public https URL of this bridge, e.g. https://idp.example.edu "
    "(no trailing slash); relying parties compare it to the iss claim character for character.",
).rstrip("/")
BRIDGE_USERNAME_DOMAIN = env.required(
    "BRIDGE_USERNAME_DOMAIN",
    "Set BRIDGE_USERNAME_DOMAIN to the domain of usernames, e.g. portal.example.edu: "
    "preferred_username is <legacy username>@<domain>.",
).lower()
BRIDGE_KEY_ENCRYPTION_SECRET = env.required(
    "BRIDGE_KEY_ENCRYPTION_SECRET",
    "Set BRIDGE_KEY_ENCRYPTION_SECRET to a long random value kept apart from database backups; "
    "it encrypts the signing keys at rest. Losing it means rotating to new keys.",
)
BRIDGE_EMAIL_VERIFIED = env.boolean("BRIDGE_EMAIL_VERIFIED", False)
BRIDGE_ACR = env.optional("BRIDGE_ACR", "urn:idp-bridge:acr:password")
BRIDGE_DEMO = env.boolean("BRIDGE_DEMO", False)

# --- What users see (docs/branding.md; checked by idp_bridge.branding) ------------------------
BRIDGE_INSTITUTION_NAME = env.optional("BRIDGE_INSTITUTION_NAME", "Research Portal")
BRIDGE_LOGO_URL = env.optional("BRIDGE_LOGO_URL", "")
BRIDGE_COLOR_PRIMARY = env.colour("BRIDGE_COLOR_PRIMARY", "#1f4e8c")
BRIDGE_COLOR_PRIMARY_TEXT = env.colour("BRIDGE_COLOR_PRIMARY_TEXT", "#ffffff")
BRIDGE_SUPPORT_EMAIL = env.optional("BRIDGE_SUPPORT_EMAIL", "")
BRIDGE_SUPPORT_URL = env.optional("BRIDGE_SUPPORT_URL", "")
BRIDGE_FOOTER_LINKS = env.links("BRIDGE_FOOTER_LINKS")
BRIDGE_FORGOT_PASSWORD_URL = env.optional("BRIDGE_FORGOT_PASSWORD_URL", "")
# A directory searched before the bundled templates: a base.html there that extends
# "bridge/layout.html" and overrides one block re-brands every page (docs/branding.md).
BRIDGE_TEMPLATE_DIR = env.optional("BRIDGE_TEMPLATE_DIR", "")

_issuer_parts = urlsplit(BRIDGE_ISSUER)
ISSUER_IS_HTTPS = _issuer_parts.scheme == "https"
ALLOWED_HOSTS = env.words("DJANGO_ALLOWED_HOSTS") or (
    [_issuer_parts.hostname] if _issuer_parts.hostname else []
)
CSRF_TRUSTED_ORIGINS = [f"{_issuer_parts.scheme}://{_issuer_parts.netloc}"] if _issuer_parts.netloc else []

# --- Databases --------------------------------------------------------------------------------
DATABASE_URL = env.optional("DATABASE_URL", f"sqlite:///{STATE_DIR / 'bridge.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
# PostgreSQL: a connection pool per process (Django 5.1+, psycopg_pool). Every gunicorn worker holds
# up to BRIDGE_DB_POOL_SIZE connections: workers x pool size must stay under max_connections.
BRIDGE_DB_POOL_SIZE = int(env.number("BRIDGE_DB_POOL_SIZE", 8))
BRIDGE_DB_POOL_TIMEOUT = env.number("BRIDGE_DB_POOL_TIMEOUT", 10, minimum=0.1)
BRIDGE_DB_CONNECT_TIMEOUT = int(env.number("BRIDGE_DB_CONNECT_TIMEOUT", 5, minimum=1))
# Server-side parameters and prepared statements: PostgreSQL plans the token path's few queries
# once per connection instead of on every request (its CPU per userinfo answer: 0.8 -> 0.2 ms).
# Off for a PgBouncer in transaction mode that cannot keep them: older than 1.21, or with
# max_prepared_statements = 0 (its default before 1.24).
BRIDGE_DB_PREPARED_STATEMENTS = env.boolean("BRIDGE_DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _pg_options: dict[str, object] = {"connect_timeout": BRIDGE_DB_CONNECT_TIMEOUT}
    if BRIDGE_DB_PREPARED_STATEMENTS:
        _pg_options["server_side_binding"] = True
        _pg_options["prepare_threshold"] = 5  # psycopg's default (prepared on the 6th run), which
        # Django turns off unless given
    if BRIDGE_DB_POOL_SIZE > 0:
        _pg_options["pool"] = {
            "min_size": 1,
            "max_size": BRIDGE_DB_POOL_SIZE,
            "timeout": BRIDGE_DB_POOL_TIMEOUT,  # seconds a request waits for a free connection
            "max_idle": 300,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
        # Django's backend, checking a pooled connection only after it sat idle (the check is a
        # round trip per request otherwise): idp_bridge/postgresql/base.py does the checking.
        DATABASES["default"]["ENGINE"] = "idp_bridge.postgresql"
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), **_pg_options}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent logins and token requests on SQLite need a busy timeout rather than an instant
    # "database is locked"; WAL lets readers proceed while a writer commits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LEGACY_DATABASE_URL = env.required(
    "LEGACY_DATABASE_URL",
    "Set LEGACY_DATABASE_URL to the portal's user database, e.g. "
    "postgresql://reader@db.example.edu/portal or sqlite:////srv/portal/users.db (read-only is enough).",
)
LEGACY_MAPPING = env.required(
    "LEGACY_MAPPING",
    "Set LEGACY_MAPPING to the path of the TOML file that maps the legacy table's columns "
    "(see docs/legacy-mapping.md).",
)
# Unknown users are "verified" against this so their answer takes as long as a real user's.
BRIDGE_DUMMY_HASH = env.optional("BRIDGE_DUMMY_HASH", "")
# How long a legacy account's state (active, suspended, deleted...) is trusted on token paths:
# the bound on how quickly a change in the portal reaches tokens already issued.
BRIDGE_LEGACY_STATE_SECONDS = int(env.number("BRIDGE_LEGACY_STATE_SECONDS", 60))
# Brute-force protection (accounts/throttle.py, docs/security.md): after FREE failures in WINDOW
# seconds a username or client address waits DELAY, 2 x DELAY, 4 x DELAY ... (at most MAX_DELAY)
# between attempts; at LOCKOUT failures it is locked for LOCKOUT_SECONDS. A client address gets
# more room than a username: a campus NAT puts many people behind one address.
BRIDGE_LOGIN_THROTTLE = env.boolean("BRIDGE_LOGIN_THROTTLE", True)
BRIDGE_LOGIN_WINDOW_SECONDS = int(env.number("BRIDGE_LOGIN_WINDOW_SECONDS", 900, minimum=1))
BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES = int(env.number("BRIDGE_LOGIN_ACCOUNT_FREE_FAILURES", 5))
BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES = int(
    env.number("BRIDGE_LOGIN_ACCOUNT_LOCKOUT_FAILURES", 10, minimum=1)
)
BRIDGE_LOGIN_IP_FREE_FAILURES = int(env.number("BRIDGE_LOGIN_IP_FREE_FAILURES", 20))
BRIDGE_LOGIN_IP_LOCKOUT_FAILURES = int(env.number("BRIDGE_LOGIN_IP_LOCKOUT_FAILURES", 100, minimum=1))
BRIDGE_LOGIN_DELAY_SECONDS = env.number("BRIDGE_LOGIN_DELAY_SECONDS", 1, minimum=0)
BRIDGE_LOGIN_MAX_DELAY_SECONDS = env.number("BRIDGE_LOGIN_MAX_DELAY_SECONDS", 60, minimum=0)
BRIDGE_LOGIN_LOCKOUT_SECONDS = int(env.number("BRIDGE_LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
LEGACY_CONNECT_TIMEOUT = env.number("LEGACY_CONNECT_TIMEOUT", 5, minimum=0.1)
LEGACY_STATEMENT_TIMEOUT = env.number("LEGACY_STATEMENT_TIMEOUT", 5, minimum=0.1)

# --- Django -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "idp_bridge.apps.IdpBridgeConfig",
    "audit",
    "accounts",
    "oidc",
]
MIDDLEWARE = [
    # Request id, client address and access log first; /healthz, /readyz and /metrics are answered
    # before host validation and the https redirect (load balancers probe by IP over plain http).
    "idp_bridge.middleware.RequestContextMiddleware",
    "idp_bridge.middleware.OpsEndpointsMiddleware",
    "idp_bridge.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "idp_bridge.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The pages speak the browser's language (Accept-Language) when a translation exists.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "idp_bridge.urls"
WSGI_APPLICATION = "idp_bridge.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [*([Path(BRIDGE_TEMPLATE_DIR)] if BRIDGE_TEMPLATE_DIR else []), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "idp_bridge.context_processors.branding",
            ],
        },
    },
]

# Portal users authenticate only through the legacy backend (keyword `legacy_login`); local staff
# accounts for the admin site only through ModelBackend (keyword `username`). Django picks the
# backend by the keywords passed, so neither can log in through the other's form.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LegacyBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Client secrets only (see oidc/hashers.py); never chosen for people's passwords.
    "oidc.hashers.ClientSecretHasher",
]

# Sessions and the cache live in the bridge database, so that every instance behind a load
# balancer sees the same sessions, account-state answers and throttling counters. The cache table
# is created by `migrate` (idp_bridge.apps runs createcachetable after every migrate).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "idp_bridge_cache",
        "TIMEOUT": 300,
        "OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 10},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(env.number("BRIDGE_SESSION_SECONDS", 8 * 3600, minimum=60))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = (
    "Lax"  # Lax, not Strict: the browser returns from relying parties via top-level GETs
)
SESSION_COOKIE_SECURE = ISSUER_IS_HTTPS
SESSION_COOKIE_NAME = "idp_bridge_session"
CSRF_COOKIE_SECURE = ISSUER_IS_HTTPS
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
LANGUAGE_COOKIE_SECURE = ISSUER_IS_HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Clickjacking: X-Frame-Options for old browsers, CSP frame-ancestors 'none' for the rest
# (idp_bridge.middleware.SecurityHeadersMiddleware sends the Content-Security-Policy).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.boolean("BRIDGE_BEHIND_PROXY", False) else None
)
if ISSUER_IS_HTTPS:
    SECURE_HSTS_SECONDS = int(env.number("BRIDGE_HSTS_SECONDS", 31536000))
    SECURE_SSL_REDIRECT = env.boolean("BRIDGE_SSL_REDIRECT", True)
# Whether every subdomain of the campus domain is https-only is the campus's decision, not ours:
# off by default, and Django's reminders about it are silenced so `check --deploy` can gate starts.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("BRIDGE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.boolean("BRIDGE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [
    "oauth2_provider.W008",
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
# A request with an absurd body is refused before any view sees it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100

LANGUAGE_CODE = "en"
# English and one more, proving every string is translatable (locale/; docs/branding.md says how
# to add a language). Names are written in their own language, as a language menu shows them.
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# WhiteNoise warns about a missing STATIC_ROOT; before `collectstatic` it is simply empty.
with contextlib.suppress(OSError):  # a read-only image: collectstatic created it at build time
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Logs, health, metrics (docs/operations.md) ------------------------------------------------
BRIDGE_LOG_FORMAT = env.choice("BRIDGE_LOG_FORMAT", "plain", LOG_FORMATS)
BRIDGE_LOG_LEVEL = env.choice(
    "BRIDGE_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), upper=True
)
LOGGING = logging_config(BRIDGE_LOG_FORMAT, BRIDGE_LOG_LEVEL)
# A proxy that terminates TLS sends the client's address in X-Forwarded-For; it is believed only
# from these networks (the proxy's own addresses), so audit events and throttling see real clients.
BRIDGE_TRUSTED_PROXIES = env.networks("BRIDGE_TRUSTED_PROXIES")
# Readiness (/readyz): the longest a probe waits for all checks together, and whether a legacy
# database outage makes this instance "not ready" (503) rather than "degraded" (200).
BRIDGE_READINESS_TIMEOUT = env.number("BRIDGE_READINESS_TIMEOUT", 3, minimum=0.1)
BRIDGE_READY_REQUIRES_LEGACY = env.boolean("BRIDGE_READY_REQUIRES_LEGACY", False)
# /metrics: a bearer token and/or the networks allowed to scrape; with neither, loopback only.
BRIDGE_METRICS_TOKEN = env.optional("BRIDGE_METRICS_TOKEN", "")
BRIDGE_METRICS_ALLOW = env.networks("BRIDGE_METRICS_ALLOW")

# --- Globus Auth: linking portal accounts to Globus identities (docs/globus-linking.md) ----------
# The bridge is itself a confidential Globus Auth client (registered at app.globus.org), so users can
# prove which Globus identity is theirs. Unset BRIDGE_GLOBUS_CLIENT_ID turns self-service linking off.
# GLOBUS_SDK_SERVICE_URL_AUTH (globus-sdk's own variable) points the SDK at a staging Globus Auth.
BRIDGE_GLOBUS_CLIENT_ID = env.optional("BRIDGE_GLOBUS_CLIENT_ID", "")
BRIDGE_GLOBUS_CLIENT_SECRET = env.optional("BRIDGE_GLOBUS_CLIENT_SECRET", "")  # checked by accounts.E011
# This IdP as Globus knows it: its identity-provider id and the domain(s) of its usernames.
BRIDGE_GLOBUS_IDP_ID = env.optional("BRIDGE_GLOBUS_IDP_ID", "").lower()
BRIDGE_GLOBUS_IDP_DOMAINS = [
    d.lower() for d in env.words("BRIDGE_GLOBUS_IDP_DOMAINS", BRIDGE_USERNAME_DOMAIN)
]
BRIDGE_GLOBUS_TIMEOUT = env.number("BRIDGE_GLOBUS_TIMEOUT", 10, minimum=1)

# --- OAuth 2.0 / OpenID Connect (django-oauth-toolkit) ----------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oidc.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oidc.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oidc.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oidc.Grant"

ACCESS_TOKEN_SECONDS = int(env.number("BRIDGE_ACCESS_TOKEN_SECONDS", 3600, minimum=60))
ID_TOKEN_SECONDS = int(env.number("BRIDGE_ID_TOKEN_SECONDS", 3600, minimum=60))
REFRESH_TOKEN_SECONDS = int(env.number("BRIDGE_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600, minimum=60))

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": BRIDGE_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "oidc.validators.BridgeValidator",
    "SCOPES": {
        "openid": "Sign you in (your account's permanent identifier)",
        "profile": "Your name, username and organization",
        "email": "Your email address",
    },
    "DEFAULT_SCOPES": ["openid"],
    # A callable, not a dotted path: DOT does not import strings for this setting.
    "PKCE_REQUIRED": pkce_required,
    "OIDC_SERVER_CLASS": "oidc.server.BridgeServer",
    "OAUTH2_BACKEND_CLASS": "oidc.server.BridgeOAuthLibCore",
    # http is allowed for loopback redirect URIs only (native apps, RFC 8252 7.3): oidc/redirects.py
    # refuses to register any other http URI, which is why DOT's W008 reminder is silenced below.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": ID_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_SECONDS,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "CLIENT_SECRET_HASHER": "client_secret_hmac",
    "REQUEST_APPROVAL_PROMPT": "force",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    # RFC 9700 best current practice, all of it: no implicit or password grant, S256 only,
    # `iss` in authorization responses, tokens stored as checksums only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
