"""Prometheus metrics at ``/metrics``, derived without touching the code paths they measure.

* Logins by outcome, reason and hash scheme, and lockouts: from the audit trail. Every login
  attempt writes an ``audit.AuditEvent`` (``login.succeeded``, ``login.failed``,
  ``login.unavailable``; ``login.locked`` for a lockout) and a ``post_save`` receiver counts it, so
  the numbers are the audit trail's numbers.
* Token requests by grant type and outcome, HTTP latency, responses and 5xx errors by route: from
  :class:`MetricsMiddleware`.
* Legacy query latency: :func:`legacy_query_timer` around the query in ``accounts.legacy.sql``.
* Signing-key state and the age of the oldest audit event: read from the database at scrape time.

Under gunicorn every worker is a process of its own. ``bin/entrypoint`` sets
``PROMETHEUS_MULTIPROC_DIR`` (emptied at every start) and ``idp_bridge.gunicorn_conf`` marks dead
workers, so a scrape answers the sum over all workers whichever worker it reaches
(prometheus_client's multiprocess mode). Without that variable (``runserver``, tests) the numbers
are the one process's.

Access: ``BRIDGE_METRICS_ALLOW`` (networks) and ``BRIDGE_METRICS_TOKEN`` (bearer token); with
neither set, only loopback may scrape. docs/operations.md lists every metric and the alerts worth
setting.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("idp_bridge.metrics")

# The text format every Prometheus version reads (generate_latest writes it, names escaped).
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

LOGINS: Final = Counter(
    "idp_bridge_logins",
    "Login attempts by outcome (succeeded, failed, unavailable), reason code and the stored "
    "password's hash scheme (none when no hash was verified), as recorded in the audit trail.",
    ["outcome", "reason", "scheme"],
)
LOCKOUTS: Final = Counter(
    "idp_bridge_lockouts",
    "Lockouts after repeated failed logins (audit event login.locked).",
)
TOKEN_REQUESTS: Final = Counter(
    "idp_bridge_token_requests",
    "Token endpoint requests by grant type (authorization_code, refresh_token, other, missing) and "
    "outcome (issued, or the OAuth error code).",
    ["grant_type", "outcome"],
)
LEGACY_QUERY_SECONDS: Final = Histogram(
    "idp_bridge_legacy_query_seconds",
    "Time the legacy database took to answer one query (outcome ok or error).",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUEST_SECONDS: Final = Histogram(
    "idp_bridge_http_request_seconds",
    "Time to answer an HTTP request, by route (the URL pattern, e.g. /token).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_RESPONSES: Final = Counter(
    "idp_bridge_http_responses",
    "HTTP responses by route and status code.",
    ["route", "status"],
)
HTTP_ERRORS: Final = Counter(
    "idp_bridge_http_errors",
    "Server errors (HTTP 5xx) by route: every one is a bug or an outage worth a look.",
    ["route"],
)

LOGIN_EVENTS: Final = {
    "login.succeeded": "succeeded",
    "login.failed": "failed",
    "login.unavailable": "unavailable",
}
LOCKOUT_EVENT: Final = "login.locked"
GRANT_TYPES: Final = frozenset({"authorization_code", "refresh_token"})
OAUTH_ERRORS: Final = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
    }
)
_LABEL: Final = re.compile(r"^[A-Za-z0-9_.:+-]{1,64}$")


def _label(value: object) -> str:
    """A bounded label value: reason codes and scheme names are code constants; anything else is
    "other", so that no label can carry a username or grow without bound."""
    if value is None or value == "":
        return "none"
    text = str(value)
    return text if _LABEL.match(text) else "other"


# --- logins and lockouts, from the audit trail ------------------------------------------------


def count_audit_event(sender: object, instance: Any, created: bool = False, **kwargs: object) -> None:
    """``post_save`` receiver for ``audit.AuditEvent`` (connected in ``IdpBridgeConfig.ready``)."""
    if not created:
        return
    event = instance.event
    outcome = LOGIN_EVENTS.get(event)
    if outcome is not None:
        details = instance.details if isinstance(instance.details, dict) else {}
        LOGINS.labels(outcome, _label(instance.reason), _label(details.get("scheme"))).inc()
    elif event == LOCKOUT_EVENT:
        LOCKOUTS.inc()


# --- legacy query latency ---------------------------------------------------------------------


@contextmanager
def legacy_query_timer() -> Iterator[None]:
    """Observe how long the legacy query inside the ``with`` block took."""
    start = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        LEGACY_QUERY_SECONDS.labels(outcome).observe(time.perf_counter() - start)


# --- HTTP, token requests ---------------------------------------------------------------------


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (bounded, unlike the path), or why there was none."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "(unrouted)"  # answered by middleware: an https redirect, a refused Host header...
    return "/" + str(match.route)


def _token_outcome(request: HttpRequest, response: HttpResponse) -> tuple[str, str]:
    try:
        grant_type = request.POST.get("grant_type") or ""
    except (RequestDataTooBig, TooManyFieldsSent, UnreadablePostError, BadRequest):
        grant_type = ""
    grant = grant_type if grant_type in GRANT_TYPES else ("missing" if not grant_type else "other")
    if response.status_code == 200:
        return grant, "issued"
    error = "other"
    if not getattr(response, "streaming", False):
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error") in OAUTH_ERRORS:
            error = str(body["error"])
    return grant, error


class MetricsMiddleware:
    """Counts every response by route and status, times it, and counts token requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        HTTP_REQUEST_SECONDS.labels(route).observe(time.perf_counter() - start)
        HTTP_RESPONSES.labels(route, str(response.status_code)).inc()
        if response.status_code >= 500:
            HTTP_ERRORS.labels(route).inc()
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name == "oidc:token" and request.method == "POST":
            TOKEN_REQUESTS.labels(*_token_outcome(request, response)).inc()
        return response


# --- state read at scrape time ----------------------------------------------------------------


class BridgeStateCollector(Collector):
    """Signing keys by state, the active key's age and the oldest audit event's age (one query each)."""

    def collect(self) -> Iterator[Metric]:
        from audit.models import AuditEvent
        from oidc.models import SigningKey

        now = timezone.now()
        try:
            keys = list(SigningKey.objects.values_list("state", "created_at", "activated_at"))
            oldest = AuditEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
        except DatabaseError as exc:
            log.warning("metrics: the bridge database did not answer (%s)", type(exc).__name__)
            return
        by_state = GaugeMetricFamily(
            "idp_bridge_signing_keys", "Signing keys by state (next, active, retiring).", labels=["state"]
        )
        for state in SigningKey.State.values:
            by_state.add_metric([state], sum(1 for row in keys if row[0] == state))
        yield by_state
        active = [row for row in keys if row[0] == SigningKey.State.ACTIVE]
        if active:
            since = active[0][2] or active[0][1]
            yield GaugeMetricFamily(
                "idp_bridge_signing_key_active_age_seconds",
                "Seconds since the signing key in use was activated (alert when rotation is overdue).",
                value=(now - since).total_seconds(),
            )
        if oldest is not None:
            yield GaugeMetricFamily(
                "idp_bridge_audit_oldest_event_age_seconds",
                "Age of the oldest audit event (shows that audit_retention runs).",
                value=(now - oldest).total_seconds(),
            )


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric, in the Prometheus text format."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    state = CollectorRegistry(auto_describe=False)
    state.register(BridgeStateCollector())
    return counted + generate_latest(state)


# --- access -----------------------------------------------------------------------------------


def _refusal(request: HttpRequest) -> HttpResponse | None:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    networks = settings.BRIDGE_METRICS_ALLOW
    token = settings.BRIDGE_METRICS_TOKEN
    if networks:
        if ip is None or not any(ip in network for network in networks):
            return HttpResponse("Not allowed from this address (BRIDGE_METRICS_ALLOW).\n", status=403)
    elif not token and (ip is None or not ip.is_loopback):
        return HttpResponse(
            "Metrics are served to loopback only: set BRIDGE_METRICS_TOKEN or BRIDGE_METRICS_ALLOW.\n",
            status=403,
        )
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = HttpResponse("A bearer token is required (BRIDGE_METRICS_TOKEN).\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="idp-bridge metrics"'
            return response
    return None


def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = _refusal(request)
    if refused is not None:
        refused["Content-Type"] = "text/plain; charset=utf-8"
        return refused
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
