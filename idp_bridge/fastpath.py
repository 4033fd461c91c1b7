"""The discovery document and the JWKS answered from a per-process copy of Django's own response.

Relying parties fetch these two public documents all day. Django's request cycle and the
middleware cost about four times what serving the bytes costs (docs/performance.md), so a GET
for one of them is answered here, in front of Django, from the response Django gave to the same
request a moment ago: same status, same headers, same body, byte for byte. Nothing is decided
here that Django did not decide:

- An entry is made only from Django's answer, so a Host header Django refuses (400), a plain
  http request it redirects to https, a HEAD or a query string never reach the copy.
- Everything Django's answer could depend on is part of the key: the path, the Host and
  forwarding headers, the scheme, ``If-None-Match`` and the headers the response names in
  ``Vary``; an answer that varies on anything else, sets a cookie or is not ``Cache-Control:
  public`` is not kept.
- An entry lives ``METADATA_RESPONSE_CACHE_SECONDS``; that time is part of the JWKS freshness
  budget (``oidc.keys.JWKS_MAX_AGE_SECONDS``), so a key rotation still reaches relying parties
  within the bound the rotation commands wait for.
- Each copied answer gets its own request id (the caller's, when sane, as the middleware does)
  and is counted in the same metrics as any response. Its access-log line is written at DEBUG:
  at INFO the log would spend more than the answer itself on documents that carry nothing
  about anyone (``BRIDGE_LOG_LEVEL=DEBUG`` shows them; the proxy's log has them too).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from django.urls import resolve, reverse

from idp_bridge.metrics import HTTP_REQUEST_SECONDS, HTTP_RESPONSES
from idp_bridge.middleware import REQUEST_ID_HEADER, SANE_REQUEST_ID, access_log
from oidc.keys import METADATA_RESPONSE_CACHE_SECONDS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The request values Django's answer to a GET without a query string can depend on: the host and
# scheme (ALLOWED_HOSTS, the https redirect, forwarded headers) and the conditional request.
KEY_ENVIRON: Final = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
    "HTTP_IF_NONE_MATCH",
)
# Headers a response may name in Vary and still be kept (their values join the key).
VARY_KEYABLE: Final = {"accept-language": "HTTP_ACCEPT_LANGUAGE", "origin": "HTTP_ORIGIN"}
KEPT_STATUSES: Final = frozenset({"200 OK", "304 Not Modified"})
# Distinct keys one process keeps (hosts x languages x revalidations); past it, Django answers.
MAX_ENTRIES: Final = 64


class _RequestIds:
    """Ids for copied answers: a random per-process prefix and a counter, 32 hex digits like the
    middleware's uuid4 ids (which cost a system call each). A forked child draws a new prefix."""

    prefix = secrets.token_hex(8)
    counter = itertools.count()

    @classmethod
    def reseed(cls) -> None:
        cls.prefix, cls.counter = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_RequestIds.reseed)


def new_request_id() -> str:
    return f"{_RequestIds.prefix}{next(_RequestIds.counter) & 0xFFFFFFFFFFFFFFFF:016x}"


@dataclass(frozen=True)
class CachedResponse:
    status: str
    headers: list[tuple[str, str]]  # without the request id
    body: bytes
    expires: float
    seconds_metric: Any  # HTTP_REQUEST_SECONDS and HTTP_RESPONSES with this route's labels
    responses_metric: Any


class MetadataResponseCache:
    """WSGI middleware: answers GET discovery and JWKS from Django's own recent answers."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        # path -> its route label in the metrics, as MetricsMiddleware names it
        self.routes = {
            path: "/" + str(resolve(path).route)
            for path in (reverse("oidc:discovery"), reverse("oidc:oauth-metadata"), reverse("oidc:jwks"))
        }
        # (path, KEY_ENVIRON values) -> the Vary names of the last answer; with their values -> it
        self.vary_of: dict[tuple[object, ...], tuple[str, ...]] = {}
        self.entries: dict[tuple[object, ...], CachedResponse] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in self.routes or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return self.app(environ, start_response)
        started = time.perf_counter()
        base = (path, *map(environ.get, KEY_ENVIRON))
        vary = self.vary_of.get(base)
        key = (*base, *map(environ.get, vary)) if vary else base
        entry = self.entries.get(key)
        if entry is None or entry.expires < time.monotonic():
            return self._from_django(environ, start_response, base, path)
        incoming = environ.get("HTTP_X_REQUEST_ID")
        rid = incoming if incoming and SANE_REQUEST_ID.match(incoming) else new_request_id()
        start_response(entry.status, [*entry.headers, (REQUEST_ID_HEADER, rid)])
        seconds = time.perf_counter() - started
        entry.seconds_metric.observe(seconds)
        entry.responses_metric.inc()
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug(
                "GET %s %s %sms (cached)", path, entry.status[:3], round(seconds * 1000, 1),
                extra={"method": "GET", "path": path, "status": int(entry.status[:3]), "cached": True},
            )  # fmt: skip
        return [entry.body]

    def _from_django(
        self, environ: dict[str, Any], start_response: Callable[..., Any], base: tuple[object, ...], path: str
    ) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._keep(environ, base, path, answer.get("status", ""), answer.get("headers", []), body)
        return [body]

    def _keep(
        self,
        environ: dict[str, Any],
        base: tuple[object, ...],
        path: str,
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if status not in KEPT_STATUSES:
            return
        names = {name.lower() for name, _ in headers}
        cache_control = ",".join(v for n, v in headers if n.lower() == "cache-control").lower()
        if "set-cookie" in names or "public" not in cache_control:
            return
        varies = [
            v.strip().lower()
            for n, value in headers
            if n.lower() == "vary"
            for v in value.split(",")
            if v.strip()
        ]
        if any(v not in VARY_KEYABLE for v in varies):
            return
        vary = tuple(sorted({VARY_KEYABLE[v] for v in varies}))
        key = (*base, *map(environ.get, vary)) if vary else base
        now = time.monotonic()
        if len(self.entries) >= MAX_ENTRIES and key not in self.entries:
            self._forget_expired(now)
            if len(self.entries) >= MAX_ENTRIES:
                return
        self.vary_of[base] = vary
        self.entries[key] = CachedResponse(
            status=status,
            headers=[(n, v) for n, v in headers if n.lower() != REQUEST_ID_HEADER.lower()],
            body=body,
            expires=now + METADATA_RESPONSE_CACHE_SECONDS,
            seconds_metric=HTTP_REQUEST_SECONDS.labels(self.routes[path]),
            responses_metric=HTTP_RESPONSES.labels(self.routes[path], status[:3]),
        )

    def _forget_expired(self, now: float) -> None:
        for key, entry in list(self.entries.items()):
            if entry.expires < now:
                self.entries.pop(key, None)
        live_bases = {key[: 1 + len(KEY_ENVIRON)] for key in self.entries}
        for base in list(self.vary_of):
            if base not in live_bases:
                self.vary_of.pop(base, None)
