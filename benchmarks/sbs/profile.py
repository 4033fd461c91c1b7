"""Where the bridge's time goes: py-spy samples of the gunicorn workers during one measurement.

``--profile`` records every bridge measurement (py-spy, Python stacks, --nonblocking so the
workers are not paused) and summarises each into the functions that take the most samples, by
inclusive time, leaving out samples of threads that wait (see WAITING). The raw collapsed stacks
are kept beside the JSON for flame graphs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Frames that are on every stack (server loop, Django plumbing) say nothing about where time goes.
PLUMBING = (
    "gunicorn/",
    "threading.py",
    "concurrent/futures",
    "django/core/handlers/",
    "django/utils/deprecation.py",
    "django/views/generic/base.py",
    "django/utils/decorators.py",
    "django/views/decorators/",
    "contextlib.py",
)
# py-spy's idle detection does not see these waits (here, in containers), so a sample whose
# innermost frame is one of them is counted as waiting, not as work: a gthread worker thread with
# no request, the worker's accept loop, and a PostgreSQL round trip in flight.
WAITING = (
    "_worker (concurrent/futures/thread.py",
    "EpollSelector.select (selectors.py",
    "Connection.wait (psycopg/connection.py",
    "PollableMethodQueue",
)
# Each sample is charged to the group of the innermost frame that matches one (leaf upwards), so
# the groups add up to 100% with "other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL round trips (psycopg)", ("(psycopg/", "(psycopg_pool/")),
    ("Django ORM (query building, model instances)", ("(django/db/",)),
    ("RSA signing and JOSE (jwcrypto, cryptography)", ("(jwcrypto/", "(cryptography/")),
    ("legacy hash verification", ("(accounts/hashers/", "(bcrypt/")),
    ("template rendering", ("(django/template/",)),
    ("oauthlib", ("(oauthlib/",)),
    ("django-oauth-toolkit", ("(oauth2_provider/",)),
    ("the bridge's own code", ("(oidc/", "(accounts/", "(idp_bridge/", "(audit/")),
    ("logging", ("(logging/",)),
    ("middleware (Django, WhiteNoise)", ("middleware",)),
    ("Django request/response", ("(django/",)),
    ("gunicorn (HTTP parsing, writing, worker loop)", ("(gunicorn/",)),
)


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def start(master_pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes] | None:
    binary = py_spy()
    if binary is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(master_pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "200",
            "--format",
            "raw",
            "--duration",
            str(max(1, round(seconds))),
            "--output",
            str(output),
            *os.environ.get("SBS_PY_SPY_ARGS", "").split(),  # e.g. --gil, --native
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _group(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, needles in GROUPS:
            if any(needle in frame for needle in needles):
                return label
    return "other"


def summarise(collapsed: Path, top: int = 12) -> dict[str, object]:
    """Share of samples per group (innermost match) and per function (inclusive), from py-spy's
    collapsed stacks."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    total = waiting = 0
    if not collapsed.exists():
        return {}
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames or any(frames[-1].startswith(w) for w in WAITING):
            waiting += count
            continue
        total += count
        groups[_group(frames)] += count
        if frames:
            leaf[frames[-1]] += count
        for frame in set(frames):
            if not any(p in frame for p in PLUMBING):
                inclusive[frame] += count
    if not total:
        return {}

    def share(n: int) -> float:
        return round(100 * n / total, 1)

    return {
        "samples": total,
        "waiting_samples": waiting,
        "groups": {label: share(n) for label, n in groups.most_common()},
        "inclusive": [{"frame": f, "percent": share(n)} for f, n in inclusive.most_common(top)],
        "self": [{"frame": f, "percent": share(n)} for f, n in leaf.most_common(top)],
    }
