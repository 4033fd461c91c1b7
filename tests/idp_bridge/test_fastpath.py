"""Discovery and JWKS answered in front of Django from a copy of Django's own answer."""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from prometheus_client import REGISTRY

from idp_bridge import fastpath, wsgi
from idp_bridge.fastpath import MAX_ENTRIES, MetadataResponseCache
from idp_bridge.logs import RequestIdFilter
from oidc import keys

pytestmark = pytest.mark.django_db

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/jwks"
HOST = "testserver"


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def without_request_id(self) -> list[tuple[str, str]]:
        return [(n, v) for n, v in self.headers if n.lower() != "x-request-id"]


class CountingApp:
    """The real Django application, counting the requests that reach it."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        return self.app(environ, start_response)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def django_app() -> Iterator[CountingApp]:
    # As Django's test client does: a request must not close the test's connection (and its
    # transaction) at its start or end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield CountingApp(WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def front(django_app: CountingApp) -> MetadataResponseCache:
    return MetadataResponseCache(django_app)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(fastpath, "time", fake)
    return fake


def environ(path: str, method: str = "GET", query: str = "", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return env


def call(app: Callable[..., Iterable[bytes]], path: str, **kwargs: Any) -> Answer:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    body = b"".join(app(environ(path, **kwargs), start_response))
    return Answer(seen["status"], seen["headers"], body)


@pytest.mark.parametrize("path", [DISCOVERY, JWKS, "/.well-known/oauth-authorization-server"])
def test_the_copy_is_djangos_answer_byte_for_byte_and_django_is_not_asked_again(front, django_app, path):
    first = call(front, path)
    again = [call(front, path) for _ in range(5)]
    assert first.status == "200 OK" and first.header("ETag") and first.body
    for answer in again:
        assert (answer.status, answer.without_request_id(), answer.body) == (
            first.status,
            first.without_request_id(),
            first.body,
        )
    assert django_app.calls == 1


def test_the_production_application_is_the_fast_path_in_front_of_django():
    assert isinstance(wsgi.application, MetadataResponseCache)
    assert isinstance(wsgi.application.app, WSGIHandler)


def test_every_copied_answer_has_its_own_request_id_or_the_callers(front):
    call(front, DISCOVERY)
    ids = {call(front, DISCOVERY).header("X-Request-ID") for _ in range(20)}
    assert len(ids) == 20 and all(i and re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert call(front, DISCOVERY, x_request_id="lb-1234.abc").header("X-Request-ID") == "lb-1234.abc"
    refused = call(front, DISCOVERY, x_request_id="two words").header("X-Request-ID")
    assert refused != "two words" and re.fullmatch(r"[0-9a-f]{32}", refused or "")


def test_a_host_django_refuses_is_refused_every_time_and_never_copied(front, django_app):
    for _ in range(3):
        answer = call(front, DISCOVERY, host="evil.example")
        assert answer.status.startswith("400")
    assert django_app.calls == 3
    assert call(front, DISCOVERY).status == "200 OK"  # the allowed host still gets its own copy
    assert [site[1] for site in front.sites] == [HOST]


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "HEAD"}, {"method": "POST"}, {"query": "x=1"}, {"method": "OPTIONS"}],
    ids=["head", "post", "query-string", "options"],
)
def test_anything_but_a_plain_get_goes_to_django(front, django_app, kwargs):
    for _ in range(3):
        call(front, DISCOVERY, **kwargs)
    assert django_app.calls == 3 and not front.sites


def test_other_paths_go_to_django(front, django_app):
    for _ in range(2):
        call(front, "/healthz")
    assert django_app.calls == 2 and not front.sites


def test_revalidation_with_the_etag_gets_304_and_another_etag_gets_the_document(front, django_app):
    etag = call(front, JWKS).header("ETag")
    assert etag
    for _ in range(3):
        not_modified = call(front, JWKS, if_none_match=etag)
        assert not_modified.status == "304 Not Modified" and not_modified.body == b""
        assert not_modified.header("ETag") == etag
    stale = call(front, JWKS, if_none_match='"something-else"')
    assert stale.status == "200 OK" and stale.body
    assert stale.body == call(front, JWKS).body
    assert django_app.calls == 2  # the document and the first 304; any other ETag gets the document


@pytest.mark.parametrize(
    "headers",
    [{"accept_language": "fr"}, {"cookie": "django_language=fr"}, {"cookie": "sessionid=x"}],
    ids=["accept-language", "language-cookie", "session-cookie"],
)
def test_requests_the_language_middleware_reads_go_to_django(front, django_app, headers):
    call(front, DISCOVERY)  # a copy exists for requests without them
    answers = [call(front, DISCOVERY, **headers) for _ in range(3)]
    assert django_app.calls == 4
    if "accept_language" in headers or "django_language" in headers.get("cookie", ""):
        assert all(a.header("Content-Language") == "fr" for a in answers)
    assert call(front, DISCOVERY).header("Content-Language") == "en"  # the copy, untouched
    assert django_app.calls == 4


def test_values_django_ignores_make_no_new_copies(front, django_app):
    """Raw header values an attacker can vary at will are not part of the key."""
    first = call(front, JWKS)
    junk = (
        [
            {"x_forwarded_proto": f"https{i}"}  # no proxy configured: Django ignores it
            for i in range(10)
        ]
        + [{"x_forwarded_host": f"h{i}.example"} for i in range(10)]
        + [{"if_none_match": f'"junk-{i}"'} for i in range(10)]
    )
    for headers in junk:
        answer = call(front, JWKS, **headers)
        assert (answer.status, answer.body) == (first.status, first.body)
    assert django_app.calls == 1 and len(front.sites) == 1


def test_the_host_is_matched_as_django_matches_it_without_regard_to_case(front, django_app):
    call(front, JWKS, host="TestServer")
    call(front, JWKS, host="testserver")
    assert django_app.calls == 1


def test_the_copies_are_bounded_and_the_newest_replace_the_oldest(front, django_app, settings):
    settings.ALLOWED_HOSTS = [".example.edu"]
    hosts = [f"h{i}.example.edu" for i in range(MAX_ENTRIES + 10)]
    for host in hosts:
        assert call(front, DISCOVERY, host=host).status == "200 OK"
    assert len(front.sites) == MAX_ENTRIES
    calls = django_app.calls
    call(front, DISCOVERY, host=hosts[-1])  # among the newest: the copy
    assert django_app.calls == calls
    call(front, DISCOVERY, host=hosts[0])  # the oldest was replaced: Django again
    assert django_app.calls == calls + 1


def test_threads_filling_and_reading_the_copies_at_once_all_get_their_answer(front, settings):
    settings.ALLOWED_HOSTS = [".example.edu"]
    hosts = [f"h{i}.example.edu" for i in range(3 * MAX_ENTRIES)]
    failures: list[BaseException] = []

    def client(seed: int) -> None:
        try:
            for i in range(150):
                answer = call(front, JWKS, host=hosts[(seed * 37 + i * 11) % len(hosts)])
                assert answer.status == "200 OK" and answer.body
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own, should it have opened one

    call(front, JWKS)  # the key snapshot is loaded here, in the test's transaction
    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(front.sites) <= MAX_ENTRIES


def test_the_access_line_of_a_copy_carries_its_request_id(front):
    class Lines(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.addFilter(RequestIdFilter())  # as the bridge's handlers do
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    call(front, JWKS)
    lines, logger = Lines(), logging.getLogger("idp_bridge.access")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        answer = call(front, JWKS, x_request_id="rp-trace-42")
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert answer.header("X-Request-ID") == "rp-trace-42"
    assert len(lines.records) == 1 and lines.records[0].levelname == "DEBUG"
    record = lines.records[0]
    assert record.request_id == "rp-trace-42" and record.status == 200 and record.remote_addr == "127.0.0.1"  # type: ignore[attr-defined]


def test_a_copy_lives_a_few_seconds_then_django_answers_again(front, django_app, clock):
    call(front, JWKS)
    clock.now += keys.METADATA_RESPONSE_CACHE_SECONDS - 0.1
    call(front, JWKS)
    assert django_app.calls == 1
    clock.now += 0.2
    call(front, JWKS)
    assert django_app.calls == 2


def test_a_key_rotation_reaches_the_jwks_within_the_bound_the_rotation_waits_for(front, clock):
    before = call(front, JWKS)
    keys.prepublish_next_key()  # in this process the key snapshot is dropped at once
    assert call(front, JWKS).body == before.body  # the copy, for at most a few seconds
    clock.now += keys.METADATA_RESPONSE_CACHE_SECONDS + 0.1
    after = call(front, JWKS)
    assert after.body != before.body and after.header("ETag") != before.header("ETag")
    max_age = int(re.search(r"max-age=(\d+)", after.header("Cache-Control") or "").group(1))  # type: ignore[union-attr]
    assert (
        max_age + keys.KEY_CACHE_SECONDS + keys.METADATA_RESPONSE_CACHE_SECONDS <= keys.JWKS_MAX_AGE_SECONDS
    )


def test_copied_answers_are_counted_like_any_response(front):
    labels = {"route": "/jwks", "status": "200"}
    before = REGISTRY.get_sample_value("idp_bridge_http_responses_total", labels) or 0.0
    for _ in range(4):
        call(front, JWKS)
    after = REGISTRY.get_sample_value("idp_bridge_http_responses_total", labels) or 0.0
    assert after - before == 4


def _stand_in(headers: list[tuple[str, str]], status: str = "200 OK") -> CountingApp:
    """An application answering with fixed headers: the rules about what may be kept."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json"), *headers])
        return [b"{}"]

    return CountingApp(app)


PUBLIC = [("Cache-Control", "public, max-age=60"), ("ETag", '"e"')]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([*PUBLIC, ("Set-Cookie", "sessionid=abc")], "200 OK"),
        ([*PUBLIC, ("Vary", "Cookie")], "200 OK"),
        ([*PUBLIC, ("Vary", "Accept-Language, Origin")], "200 OK"),
        ([("Cache-Control", "private, max-age=60"), ("ETag", '"e"')], "200 OK"),
        ([("Cache-Control", "no-store"), ("ETag", '"e"')], "200 OK"),
        ([("ETag", '"e"')], "200 OK"),
        ([("Cache-Control", "public, max-age=60")], "200 OK"),
        (PUBLIC, "503 Service Unavailable"),
        (PUBLIC, "301 Moved Permanently"),
    ],
    ids=[
        "sets-a-cookie",
        "varies-by-cookie",
        "varies-by-origin",
        "private",
        "no-store",
        "no-cache-control",
        "no-etag",
        "error",
        "redirect",
    ],
)
def test_answers_that_must_not_be_shared_are_never_copied(headers, status):
    app = _stand_in(headers, status)
    front = MetadataResponseCache(app)
    for _ in range(3):
        call(front, DISCOVERY)
    assert app.calls == 3 and not front.sites


def test_django_closes_what_it_returned_when_the_answer_is_copied(front):
    closed: list[bool] = []

    class Closing(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", PUBLIC)
        return Closing([b"{", b"}"])

    answer = call(MetadataResponseCache(app), JWKS)
    assert answer.body == b"{}" and closed == [True]
