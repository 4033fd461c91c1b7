"""Property-based fuzzing of every endpoint, in process through Django's test client.

``FUZZ_EXAMPLES`` sets how many examples each property draws (default 120: about 2,000 requests
per run, within about a minute). A long run: ``FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest
tests/fuzz``. Every request a property sends is counted; the total is printed at the end of the run.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import Client as RegisteredClient
from tests.oidc.test_flow import sign_in_and_get_tokens

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,  # a request's duration depends on the machine's load, not on the input
    # The Django test client and the database are shared by all examples of a property on purpose:
    # state built up by earlier examples (sessions, consumed codes) is part of what is fuzzed.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz")
# Some drawn values are 70 KB on purpose; Hypothesis warns when it describes them (warnings are
# errors in this suite).
BIG_VALUES_OK = pytest.mark.filterwarnings("ignore:Generating overly large repr")

_requests: Counter[str] = Counter()
_seconds: Counter[str] = Counter()


def count(test_name: str, n: int = 1) -> None:
    _requests[test_name] += n


@pytest.fixture(autouse=True)
def _time_fuzz_test(request: pytest.FixtureRequest) -> Any:
    start = time.perf_counter()
    yield
    _seconds[request.node.name] += time.perf_counter() - start


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _requests:
        return
    total, seconds = sum(_requests.values()), sum(_seconds[name] for name in _requests)
    terminalreporter.write_sep(
        "-", f"fuzz: {total} requests in {seconds:.1f} s (FUZZ_EXAMPLES={FUZZ_EXAMPLES})"
    )
    for name, n in sorted(_requests.items()):
        terminalreporter.write_line(f"  {n:6d}  {_seconds[name]:6.1f} s  {name}")


# --- what every answer must satisfy -----------------------------------------------------------
LEAKS = ("Traceback", 'File "/', "django.db", "psycopg", "sqlite3", "SELECT ", "oauthlib.")

# RFC 6749 5.2 (token), RFC 6750 3.1 (userinfo), RFC 7009 2.2.1 (revocation), RFC 7662 2.3.
TOKEN_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
BEARER_ERRORS = frozenset({"invalid_request", "invalid_token", "insufficient_scope"})
REVOCATION_ERRORS = frozenset({"invalid_request", "invalid_client", "unsupported_token_type"})
INTROSPECTION_ERRORS = frozenset({"invalid_request", "invalid_client"})
# RFC 6749 4.1.2.1 and OpenID Connect Core 3.1.2.6, as sent to a redirect URI.
AUTHORIZE_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)


def sane(response: Any) -> str:
    """The body as text, after checking the answer is not a server error and leaks nothing."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    body = response.content.decode("utf-8", "replace")
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} in a {response.status_code} answer: {body[:500]}"
    return body


def json_error(response: Any, allowed: frozenset[str]) -> str:
    """The error code of a JSON error answer, checked against the codes the spec allows."""
    sane(response)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json().get("error")
    assert error in allowed, (response.status_code, response.json())
    if response.status_code == 401:
        assert response.has_header("WWW-Authenticate"), "a 401 must carry a challenge"
    return str(error)


# --- fixtures -----------------------------------------------------------------------------------
PASSWORD = "correct horse"


@pytest.fixture
def fuzz_rp(make_client: Any) -> RegisteredClient:
    return make_client(trusted=True)


@pytest.fixture
def issued(client: Any, portal: Any, fuzz_rp: RegisteredClient) -> dict[str, Any]:
    """A signed-in browser (``client``) and the tokens a real code flow gave ``fuzz_rp``."""
    portal.add_user("ajones", PASSWORD)
    return sign_in_and_get_tokens(client, fuzz_rp)
