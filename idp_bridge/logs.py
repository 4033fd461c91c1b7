"""Logging: plain or JSON lines, a request id on every line, and no secrets in any line.

``BRIDGE_LOG_FORMAT=json`` writes one JSON object per line (for Loki, Elasticsearch, Splunk...);
``plain`` (the default) writes ``time level logger [request id] message``. The same configuration
serves Django and gunicorn (``idp_bridge.gunicorn_conf``), so the whole process speaks one format.

Every record passes :class:`RedactSecrets` at the handler: whatever a message or a traceback says,
bearer tokens, ``password=``, ``client_secret=`` and the other credential-carrying parameters are
replaced by ``[redacted]`` before the line is written. The bridge's own log calls never pass a
secret (house style); this filter is the net under them, under third-party libraries and under
exception messages nobody wrote on purpose.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import traceback
from datetime import UTC, datetime
from typing import Any, Final

#: The id of the request being handled in this thread or task ("-" outside a request).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("idp_bridge_request_id", default="-")

REDACTED: Final = "[redacted]"
# Credential-carrying parameters in query strings, form bodies, JSON and "key: value" text.
_SECRET_PARAMETERS: Final = (
    "password",
    "passwd",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "code_verifier",
    "token",
    "secret",
)
_PARAMETER: Final = re.compile(
    r"""(?P<key>["']?\b(?:"""
    + "|".join(_SECRET_PARAMETERS)
    + r""")\b["']?\s*(?:=|:)\s*["']?)(?P<value>[^\s&"',;}]+)""",
    re.IGNORECASE,
)
# An authorization code in a query string, form body or dict repr ("code: 500" in prose is left
# alone).
_CODE_PARAMETER: Final = re.compile(r"""(?P<key>\bcode=|["']code["']\s*:\s*["'])(?P<value>[^\s&"',;]+)""")
# "Authorization: Bearer x", "Basic x", and bare "Bearer x" anywhere in a message.
_SCHEME_CREDENTIAL: Final = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9\-._~+/]+=*)")
# A JWT (three base64url parts, the first a JSON header) wherever it appears.
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``."""
    text = _JWT.sub(REDACTED, text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: m.group("key") + REDACTED, text)
    text = _CODE_PARAMETER.sub(lambda m: m.group("key") + REDACTED, text)
    return _PARAMETER.sub(lambda m: m.group("key") + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and traceback text with :func:`redact`. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: keep what there is, redacted
            message = f"{record.msg!r} {record.args!r}"
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


# Structured fields a record may carry (``log.info(..., extra={...})``) that the JSON format keeps.
EXTRA_FIELDS: Final = (
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "remote_addr",
    "user_agent",
    "check",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, request_id, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id.get()),
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


PLAIN_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
LOG_FORMATS: Final = ("plain", "json")


def logging_config(log_format: str = "plain", level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for Django (LOGGING) and gunicorn (logconfig_dict)."""
    formatter: dict[str, Any] = (
        {"()": "idp_bridge.logs.JsonFormatter"} if log_format == "json" else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "idp_bridge.logs.RequestIdFilter"},
            "redact": {"()": "idp_bridge.logs.RedactSecrets"},
        },
        "formatters": {"bridge": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "bridge",
                "filters": ["request_id", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # DOT logs client ids and token-related debug lines; keep it at WARNING.
            "oauth2_provider": {"level": "WARNING"},
            # oauthlib's DEBUG lines carry authorization codes and refresh tokens in clear
            # ("Validating refresh token <token>", "Saving grant {'code': ...}"): never below INFO.
            "oauthlib": {"level": "INFO" if level == "DEBUG" else level},
            "django.db.backends": {"level": "WARNING"},
            # Django logs every 4xx/5xx with the request path; the access log says it once already.
            "django.request": {"level": "ERROR"},
            # gunicorn: its own handlers are replaced by ours (one format for the whole process).
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        },
    }
