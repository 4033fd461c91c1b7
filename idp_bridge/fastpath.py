"""The discovery document and the JWKS answered from a per-process copy of Django's own answer.

Relying parties fetch these two public documents all day. Django's request cycle and the
middleware cost about four times what serving the bytes costs (docs/performance.md), so a GET
for one of them is answered here, in front of Django, from the response Django gave to the same
request a moment ago: same status, same headers, same body, byte for byte. Nothing is decided
here that Django did not decide:

- An entry is made only from Django's answer, so a Host header Django refuses (400), a plain
  http request it redirects to https, a HEAD or a query string never reach the copy.
- The key holds what Django's answer to a GET without a query string depends on, as Django reads
  it under these settings: the path, the Host header, the server's name and port, whether the
  request counts as https, and whether ``If-None-Match`` names the document's current ETag (the
  views answer 304 exactly then). Raw header values an attacker could vary at will are not in
  it, so the copies stay few.
- A request that carries a cookie or ``Accept-Language`` goes to Django: LocaleMiddleware reads
  both (the language cookie without saying so in ``Vary``). Relying parties send neither.
- Only a 200 or 304 that is ``Cache-Control: public``, sets no cookie and varies on nothing but
  ``Accept-Language`` is kept.
- An entry lives ``METADATA_RESPONSE_CACHE_SECONDS``; that time is part of the JWKS freshness
  budget (``oidc.keys.JWKS_MAX_AGE_SECONDS``), so a key rotation still reaches relying parties
  within the bound the rotation commands wait for. At most ``MAX_ENTRIES`` per process; a new one
  replaces the oldest.
- Each copied answer gets its own request id (the caller's, when sane, as the middleware does)
  and is counted in the same metrics as any response. Its access-log line is written at DEBUG:
  at INFO the log would spend more than the answer itself on documents that carry nothing
  about anyone (``BRIDGE_LOG_LEVEL=DEBUG`` shows them; the proxy's log has them too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.urls import resolve, reverse

from idp_bridge.logs import request_id
from idp_bridge.metrics import HTTP_REQUEST_SECONDS, HTTP_RESPONSES
from idp_bridge.middleware import REQUEST_ID_HEADER, access_log, log_access, request_id_for
from oidc.keys import METADATA_RESPONSE_CACHE_SECONDS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Requests that carry these go to Django: the language middleware reads them.
PERSONAL_ENVIRON: Final = ("HTTP_COOKIE", "HTTP_ACCEPT_LANGUAGE")
KEPT_STATUSES: Final = frozenset({"200 OK", "304 Not Modified"})
# Vary names a kept answer may carry: its requests had no Accept-Language, nor will the copy's.
HARMLESS_VARY: Final = frozenset({"accept-language"})
# Distinct keys one process keeps (paths x allowed hosts x https or not x revalidation or not).
MAX_ENTRIES: Final = 64


@dataclass(frozen=True)
class CachedResponse:
    status: str
    headers: list[tuple[str, str]]  # without the request id
    body: bytes
    expires: float
    seconds_metric: Any  # HTTP_REQUEST_SECONDS and HTTP_RESPONSES with this route's labels
    responses_metric: Any


@dataclass
class SiteEntry:
    """One document as one site asked for it: its ETag, the full answer (False) and the 304 for
    a request naming that ETag (True)."""

    etag: str
    answers: dict[bool, CachedResponse] = field(default_factory=dict)


class MetadataResponseCache:
    """WSGI middleware: answers GET discovery and JWKS from Django's own recent answers."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        # path -> its route label in the metrics, as MetricsMiddleware names it
        self.routes = {
            path: "/" + str(resolve(path).route)
            for path in (reverse("oidc:discovery"), reverse("oidc:oauth-metadata"), reverse("oidc:jwks"))
        }
        self.forwarded_host = settings.USE_X_FORWARDED_HOST
        self.forwarded_port = settings.USE_X_FORWARDED_PORT
        self.proxy_ssl_header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER
        self.sites: dict[tuple[object, ...], SiteEntry] = {}
        self.lock = threading.Lock()  # for changes; lookups read without it

    def site(self, environ: dict[str, Any], path: str) -> tuple[object, ...]:
        """What Django's answer depends on besides If-None-Match, as Django reads it."""
        host = environ.get("HTTP_HOST")
        return (
            path,
            host.lower() if host else (environ.get("SERVER_NAME"), environ.get("SERVER_PORT")),
            environ.get("HTTP_X_FORWARDED_HOST") if self.forwarded_host else None,
            environ.get("HTTP_X_FORWARDED_PORT") if self.forwarded_port else None,
            self.scheme(environ),
        )

    def scheme(self, environ: dict[str, Any]) -> str:
        """HttpRequest.scheme: the proxy's header when configured and present, else the server's."""
        if self.proxy_ssl_header is not None:
            header, secure_value = self.proxy_ssl_header
            value = environ.get(header)
            if value is not None:
                return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
        return str(environ.get("wsgi.url_scheme", "http"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            path not in self.routes
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("QUERY_STRING")
            or any(name in environ for name in PERSONAL_ENVIRON)
        ):
            return self.app(environ, start_response)
        started = time.perf_counter()
        site = self.site(environ, path)
        entry = self.sites.get(site)
        inm = environ.get("HTTP_IF_NONE_MATCH")
        answer = None if entry is None else entry.answers.get(inm is not None and inm == entry.etag)
        if answer is None or answer.expires < time.monotonic():
            return self._from_django(environ, start_response, site, path)
        rid = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        start_response(answer.status, [*answer.headers, (REQUEST_ID_HEADER, rid)])
        seconds = time.perf_counter() - started
        answer.seconds_metric.observe(seconds)
        answer.responses_metric.inc()
        if access_log.isEnabledFor(logging.DEBUG):
            self._log(environ, path, answer.status, seconds, rid)
        return [answer.body]

    @staticmethod
    def _log(environ: dict[str, Any], path: str, status: str, seconds: float, rid: str) -> None:
        token = request_id.set(rid)  # the line carries the copy's id, as the middleware's do
        try:
            log_access(
                logging.DEBUG,
                method="GET",
                path=path,
                status=int(status[:3]),
                seconds=seconds,
                remote_addr=str(environ.get("REMOTE_ADDR", "")),
                user_agent=str(environ.get("HTTP_USER_AGENT", "")),
                copy=True,
            )
        finally:
            request_id.reset(token)

    def _from_django(
        self, environ: dict[str, Any], start_response: Callable[..., Any], site: tuple[object, ...], path: str
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
        self._keep(environ, site, path, answer.get("status", ""), answer.get("headers", []), body)
        return [body]

    def _keep(
        self,
        environ: dict[str, Any],
        site: tuple[object, ...],
        path: str,
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if status not in KEPT_STATUSES:
            return
        values: dict[str, list[str]] = {}
        for name, value in headers:
            values.setdefault(name.lower(), []).append(value)
        etag = ",".join(values.get("etag", []))
        varies = {
            v.strip().lower() for value in values.get("vary", []) for v in value.split(",") if v.strip()
        }
        if (
            not etag
            or "set-cookie" in values
            or "public" not in ",".join(values.get("cache-control", [])).lower()
            or not varies <= HARMLESS_VARY
        ):
            return
        # The views answer 304 exactly when If-None-Match is the ETag, the whole document otherwise.
        inm = environ.get("HTTP_IF_NONE_MATCH")
        copy = CachedResponse(
            status=status,
            headers=[(n, v) for n, v in headers if n.lower() != REQUEST_ID_HEADER.lower()],
            body=body,
            expires=time.monotonic() + METADATA_RESPONSE_CACHE_SECONDS,
            seconds_metric=HTTP_REQUEST_SECONDS.labels(self.routes[path]),
            responses_metric=HTTP_RESPONSES.labels(self.routes[path], status[:3]),
        )
        with self.lock:
            entry = self.sites.get(site)
            if entry is None or entry.etag != etag:
                entry = SiteEntry(etag)  # a new document: the other answer is no longer right
            entry.answers[inm is not None and inm == etag] = copy
            self.sites.pop(site, None)  # re-inserted last: the newest
            while len(self.sites) >= MAX_ENTRIES:
                del self.sites[next(iter(self.sites))]  # the oldest
            self.sites[site] = entry
