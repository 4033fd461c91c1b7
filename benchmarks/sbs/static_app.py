"""The static ceiling: a bare WSGI callable answering every request with fixed bytes.

It is served by the same gunicorn settings as the bridge, so its rate is the most that server
stack can do on this machine; discovery and JWKS are measured against it. The body is the bridge's
discovery document, with the headers the bridge sends for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

BODY = Path(os.environ["STATIC_BODY_FILE"]).read_bytes()
HEADERS = [
    ("Content-Type", "application/json"),
    ("Content-Length", str(len(BODY))),
    ("Cache-Control", "public, max-age=3600"),
    ("ETag", '"static"'),
    ("Access-Control-Allow-Origin", "*"),
]


def application(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
