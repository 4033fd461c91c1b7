"""A small, cheap HTTP client for interactive flows: one keep-alive connection and a cookie jar.

The login load generator runs dozens of these in threads next to the servers on the same cores, so
it is http.client and two regular expressions rather than requests and an HTML parser: about
0.2 ms of CPU per request (the figure is measured and printed with each login run).
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT = re.compile(r"<input\b([^>]*)>", re.I)
ATTR = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')


class FlowError(Exception):
    """A flow did not end where it should (a page or status it did not expect)."""


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    url: str

    @property
    def location(self) -> str | None:
        value = self.headers.get("Location")
        return urljoin(self.url, value) if value else None

    def json(self) -> dict[str, object]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class Browser:
    def __init__(self, base_url: str, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self, method: str, url: str, body: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        url = urljoin(self.base_url + "/", url)
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"Host": f"{self.host}:{self.port}", "Accept": "*/*", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = None
        if body is not None:
            payload = urlencode(body).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, target, body=payload, headers=sent)
                raw = self.conn.getresponse()
                data = raw.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A keep-alive connection the server closed while idle; nothing was processed.
                self.close()
                if attempt == 2:
                    raise
        if raw.will_close:
            self.close()
        for cookie in raw.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower() or "expires=thu, 01 jan 1970" in cookie.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Response(raw.status, raw.headers, data, url)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def first_form(page: bytes) -> tuple[str, dict[str, str]]:
    """The action and the named fields (with their values) of the first form on a page."""
    match = FORM.search(page.decode("utf-8", "replace"))
    if match is None:
        raise FlowError("no form on the page")
    action = html.unescape(dict(ATTR.findall(match.group(1))).get("action", ""))
    fields: dict[str, str] = {}
    for attrs in INPUT.findall(match.group(2)):
        values = {k.lower(): html.unescape(v) for k, v in ATTR.findall(attrs)}
        if "name" in values:
            fields[values["name"]] = values.get("value", "")
    return action, fields


def basic_auth(client_id: str, client_secret: str) -> str:
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()
