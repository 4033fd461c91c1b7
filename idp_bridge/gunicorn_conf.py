"""gunicorn settings for ``bin/entrypoint``: ``gunicorn -c python:idp_bridge.gunicorn_conf``.

Every value comes from the environment (docs/configuration.md, "Serving"). Logs go through the
bridge's own configuration (``idp_bridge.logs``): one format, request ids, secrets redacted.
gunicorn's access log is off because the bridge writes its own (``idp_bridge.access``), which has
the request id and leaves query strings out.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from idp_bridge.logs import LOG_FORMATS, logging_config


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SystemExit(f"{name}={raw!r} must be at least {minimum}")
    return value


_format = os.environ.get("BRIDGE_LOG_FORMAT", "plain").strip().lower()
_level = os.environ.get("BRIDGE_LOG_LEVEL", "INFO").strip().upper()

wsgi_app = "idp_bridge.wsgi:application"
bind = os.environ.get("BIND", "0.0.0.0:8000").replace(",", " ").split()
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Longer than the proxy's idle upstream timeout (4 s in deploy/nginx), so the proxy never sends a
# request on a connection gunicorn is closing.
keepalive = 5
max_requests = _int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = max_requests // 10
# Long authorization requests (a `claims` parameter, many scopes) fit: gunicorn's largest value.
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "idp-bridge"
# gunicorn's control socket (`gunicornc`) lives with the rest of the state, not in $HOME: two
# instances on one host must not share it, and the container's home is read-only.
control_socket = os.path.join(os.environ.get("BRIDGE_STATE_DIR", "var"), "gunicorn.ctl")
# Worker heartbeats on tmpfs, not on a container's overlay disk (gunicorn's advice for Docker).
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108
accesslog = None


class BridgeLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with its access log off for good.

    With ``logconfig_dict`` set, gunicorn builds every access-log line (a dict of some thirty
    atoms, the whole environ copied in) and only then drops it at the level of ``gunicorn.access``:
    up to a fifth of the rate of copied discovery answers (docs/performance.md). The bridge writes
    its own access log.
    """

    @property
    def access_log_enabled(self) -> bool:
        return False

    def access(self, *args: Any, **kwargs: Any) -> None:
        return None


logger_class = BridgeLogger
logconfig_dict = logging_config(
    _format if _format in LOG_FORMATS else "plain",
    _level if _level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "INFO",
)


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: prometheus_client must stop counting its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
