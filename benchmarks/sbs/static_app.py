"""The static ceiling: a bare WSGI callable answering every request with fixed bytes.

It is served by the same gunicorn settings as the bridge, so its rate is the most that server
stack can do on this machine; discovery and JWKS are measured against it. The body is the bridge's
discovery document, with the headers the bridge sends for it (STATIC_HEADERS_FILE: the bridge's
answer as the harness read it, less Date, Server and the request id, which the server or each
request supplies); without that file, the few a JSON document needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

BODY = Path(os.environ["STATIC_BODY_FILE"]).read_bytes()
_bridge_headers = (
    json.loads(Path(os.environ["STATIC_HEADERS_FILE"]).read_text())
    if os.environ.get("STATIC_HEADERS_FILE")
    else []
)
HEADERS = [(str(name), str(value)) for name, value in _bridge_headers] or [
    ("Content-Type", "application/json"),
    ("Content-Length", str(len(BODY))),
    ("Cache-Control", "public, max-age=3600"),
    ("ETag", '"static"'),
    ("Access-Control-Allow-Origin", "*"),
]


def application(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
