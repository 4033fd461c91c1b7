"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators.

``/healthz`` says the process answers HTTP: no database, no I/O, always 200 while the process can
serve at all. Restart the instance when it fails.

``/readyz`` runs three checks, each in a worker thread, and answers within
``BRIDGE_READINESS_TIMEOUT`` seconds whatever the databases do:

* ``bridge_database``: ``SELECT 1`` on the bridge's own database (sessions, tokens, keys);
* ``signing_keys``: the active signing key can be decrypted with BRIDGE_KEY_ENCRYPTION_SECRET
  (read only: with no key yet, the first JWKS or token request creates one, so that is ready);
* ``legacy_database``: one indexed lookup by id in the portal's database, under its own connect
  and statement timeouts.

A check still running at the deadline is reported as not answering, and the next probe waits on
the same attempt instead of starting another, so a hanging database costs one thread per check,
never one per probe. The body names every check; details that could help an attacker (host names,
driver messages) go to the log, not the body.

Status: 503 when the bridge database or the signing keys fail. A legacy database outage is
"degraded", 200: discovery, JWKS, refresh and userinfo keep working for tokens already issued
while the portal's database is down (only new logins wait), and pulling every instance out of
the load balancer would stop those too. ``BRIDGE_READY_REQUIRES_LEGACY=true`` makes it a 503.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Final

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

from accounts.legacy import LegacyMappingError, LegacySourceError, LegacySourceUnavailable
from idp_bridge.errors import ConfigurationError

log = logging.getLogger("idp_bridge.health")

#: The id the legacy probe looks up: any value will do (found or not, the database answered).
LEGACY_PROBE_ID: Final = "0"


class CheckFailed(Exception):
    """A readiness check's answer: ``public`` is safe to show anyone; the cause goes to the log."""

    def __init__(self, public: str) -> None:
        super().__init__(public)
        self.public = public


def check_bridge_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "answered"


def check_signing_keys() -> str:
    from oidc import keys
    from oidc.models import SigningKey

    row = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).only("kid").first()
    if row is None:
        return "no key yet: the first JWKS or token request creates one"
    try:
        loaded = keys.active_signing_key()
    except ConfigurationError as exc:
        log.error("readiness: %s", exc)
        raise CheckFailed(
            "the active signing key cannot be decrypted: BRIDGE_KEY_ENCRYPTION_SECRET is not the one "
            "it was encrypted with"
        ) from exc
    return f"active key {loaded.kid} decrypts"


def check_legacy_database() -> str:
    from accounts.legacy import get_user_source

    try:
        get_user_source().get_by_id(LEGACY_PROBE_ID)
    except LegacySourceUnavailable as exc:
        log.warning("readiness: the legacy database did not answer: %s", exc)
        raise CheckFailed("the legacy database did not answer") from exc
    except LegacyMappingError as exc:
        log.error("readiness: the legacy mapping does not fit the database: %s", exc)
        raise CheckFailed("the mapping does not fit the legacy database (see the log)") from exc
    except LegacySourceError:
        pass  # e.g. two rows for the probe id: the database answered, which is all we ask here
    return "answered"


@dataclass(frozen=True)
class Check:
    run: Callable[[], str]
    required: Callable[[], bool]


CHECKS: Final[dict[str, Check]] = {
    "bridge_database": Check(check_bridge_database, lambda: True),
    "signing_keys": Check(check_signing_keys, lambda: True),
    "legacy_database": Check(check_legacy_database, lambda: bool(settings.BRIDGE_READY_REQUIRES_LEGACY)),
}

_executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="idp-bridge-readyz")
_running: dict[str, Future[str]] = {}
_running_lock = threading.Lock()


def _in_thread(run: Callable[[], str]) -> str:
    try:
        return run()
    finally:
        # Hand the connection back (to the pool, or close it): a probe thread must not hold one.
        for connection in connections.all(initialized_only=True):
            connection.close()


def _attempt(name: str, check: Check) -> Future[str]:
    """The running attempt of this check, or a new one if none is running."""
    with _running_lock:
        future = _running.get(name)
        if future is None or future.done():
            future = _executor.submit(_in_thread, check.run)
            _running[name] = future
        return future


@dataclass(frozen=True)
class Result:
    ok: bool
    required: bool
    detail: str
    seconds: float


def readiness(timeout: float | None = None) -> dict[str, Result]:
    """Run every check; whatever has not answered after ``timeout`` seconds has failed."""
    deadline = time.monotonic() + (settings.BRIDGE_READINESS_TIMEOUT if timeout is None else timeout)
    started = time.monotonic()
    attempts = {name: _attempt(name, check) for name, check in CHECKS.items()}
    results: dict[str, Result] = {}
    for name, future in attempts.items():
        required = CHECKS[name].required()
        try:
            detail = future.result(timeout=max(0.0, deadline - time.monotonic()))
            ok = True
        except FutureTimeout:
            ok, detail = False, f"no answer within {deadline - started:.1f} s"
            log.warning("readiness: %s gave no answer within the deadline", name)
        except CheckFailed as failed:
            ok, detail = False, failed.public
        except (DatabaseError, ConfigurationError, LegacySourceError, OSError) as exc:
            ok, detail = False, f"failed ({type(exc).__name__})"
            log.warning("readiness: %s failed: %s", name, exc)
        results[name] = Result(ok, required, detail, round(time.monotonic() - started, 3))
    return results


def healthz_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status":"alive"}', content_type="application/json")


def readyz_view(request: HttpRequest) -> HttpResponse:
    results = readiness()
    failed_required = [name for name, r in results.items() if not r.ok and r.required]
    failed_optional = [name for name, r in results.items() if not r.ok and not r.required]
    status = "unavailable" if failed_required else ("degraded" if failed_optional else "ready")
    body = {
        "status": status,
        "checks": {
            name: {"ok": r.ok, "required": r.required, "detail": r.detail, "seconds": r.seconds}
            for name, r in results.items()
        },
    }
    return HttpResponse(
        json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        status=503 if failed_required else 200,
    )
