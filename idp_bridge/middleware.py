"""Middleware for operations: request ids, real client addresses, the access log, ops endpoints.

``RequestContextMiddleware`` runs first: it gives the request an id (the caller's ``X-Request-ID``
when it is sane, else a new one), echoes it in the response, puts it on every log line written
while the request is handled, replaces a trusted proxy's address by the client's, and writes one
access-log line per request (method, path without the query string, status, duration).

``OpsEndpointsMiddleware`` answers ``/healthz``, ``/readyz`` and ``/metrics`` before Django's host
validation and https redirect: a load balancer probes an instance by its IP address over plain
http, and must get the probe's answer rather than a 400 or a redirect.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from idp_bridge.logs import request_id

access_log = logging.getLogger("idp_bridge.access")

REQUEST_ID_HEADER: Final = "X-Request-ID"
# What a proxy or a client may send as a request id: short, printable, no spaces or quotes.
SANE_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+=@/-]{0,127}$")
OPS_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
# The sign-in pages need none of these browser features; saying so stops an injected frame or
# script from asking for them.
PERMISSIONS_POLICY: Final = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class _RequestIds:
    """New request ids: a random per-process prefix and a counter, 32 hex digits (a uuid4 costs a
    system call per request). A forked child draws a new prefix."""

    prefix = secrets.token_hex(8)
    counter = itertools.count()

    @classmethod
    def reseed(cls) -> None:
        cls.prefix, cls.counter = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_RequestIds.reseed)


def request_id_for(incoming: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new id."""
    if incoming and SANE_REQUEST_ID.match(incoming):
        return incoming
    return f"{_RequestIds.prefix}{next(_RequestIds.counter) & 0xFFFFFFFFFFFFFFFF:016x}"


def log_access(
    level: int,
    *,
    method: str,
    path: str,
    status: int,
    seconds: float,
    remote_addr: str,
    user_agent: str,
    **extra: object,
) -> None:
    """One access-log line (the path only: query strings carry codes, states and tokens)."""
    if not access_log.isEnabledFor(level):
        return
    duration_ms = round(seconds * 1000, 1)
    access_log.log(
        level,
        "%s %s %s %sms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "remote_addr": remote_addr,
            "user_agent": user_agent[:200],
            **extra,
        },
    )


def _trusted(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the first untrusted hop of
    X-Forwarded-For counted from the right (the hops further left are the client's to invent)."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.BRIDGE_TRUSTED_PROXIES
    if not trusted or not _trusted(peer, trusted):
        return peer
    client = peer
    for hop in reversed(str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")):
        try:
            client = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            break  # not an address: stop at the last hop a trusted proxy vouched for
        if not _trusted(client, trusted):
            break
    return client


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        token = request_id.set(rid)
        try:
            address = client_address(request)
            if address != request.META.get("REMOTE_ADDR"):
                request.META["BRIDGE_PROXY_ADDR"] = request.META.get("REMOTE_ADDR", "")
                request.META["REMOTE_ADDR"] = address
            start = time.perf_counter()
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            self._log(request, response.status_code, time.perf_counter() - start)
            return response
        finally:
            request_id.reset(token)

    @staticmethod
    def _log(request: HttpRequest, status: int, seconds: float) -> None:
        quiet = request.path_info in OPS_PATHS and status < 400
        log_access(
            logging.DEBUG if quiet else logging.INFO,
            method=str(request.method),
            path=request.path,
            status=status,
            seconds=seconds,
            remote_addr=str(request.META.get("REMOTE_ADDR", "")),
            user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
        )


class OpsEndpointsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in OPS_PATHS:
            return self.get_response(request)
        from idp_bridge.health import healthz_view, readyz_view
        from idp_bridge.metrics import metrics_view

        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        view = {"/healthz": healthz_view, "/readyz": readyz_view, "/metrics": metrics_view}[request.path_info]
        response = view(request)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        if request.method == "HEAD":
            response.content = b""
        return response


def content_security_policy() -> str:
    """The policy for every response: the pages load scripts, styles and images from this site only.

    No template has inline script or style (tests/idp_bridge/test_security_headers.py reads them
    all), so no nonce is needed and ``'unsafe-inline'`` never appears. ``form-action`` is left
    out on purpose: browsers apply it to the redirects that follow a form submission, and the
    consent and logout forms end at relying parties' registered URIs.
    """
    images = ["'self'", "data:"]
    logo = urlsplit(settings.BRIDGE_LOGO_URL)
    if logo.scheme == "https" and logo.netloc:
        images.append(f"https://{logo.netloc}")  # a logo on the campus web server (docs/branding.md)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (Django's SecurityMiddleware
    and XFrameOptionsMiddleware send HSTS, nosniff, Referrer-Policy, COOP and X-Frame-Options)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
