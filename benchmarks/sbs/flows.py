"""Interactive logins (authorize -> login form -> code exchange) and tokens for the load runs."""

from __future__ import annotations

import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from sbs.browser import Browser, FlowError, basic_auth, first_form, pkce_pair
from sbs.targets import CLIENT_ID, REDIRECT_URI, SCOPE, Target

PASSWORD = "benchmark-password"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str


def authorize_url(target: Target, challenge: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{target.authorize}?{query}"


def sign_in(target: Target, browser: Browser, username: str | None) -> Tokens:
    """One authorization code flow. With ``username`` the browser signs in on the way (a login);
    without, it must already hold a session (a code for a signed-in user)."""
    verifier, challenge = pkce_pair()
    response = browser.request("GET", authorize_url(target, challenge))
    code = None
    for _step in range(8):
        location = response.location
        if response.status in (301, 302, 303, 307) and location:
            if location.startswith(REDIRECT_URI):
                code = parse_qs(urlsplit(location).query).get("code", [None])[0]
                break
            response = browser.request("GET", location)
        elif response.status == 200 and username is not None:
            action, fields = first_form(response.body)
            if "password" not in fields:
                raise FlowError(f"{target.name}: a page without a login form at {response.url}")
            fields[target.login_field] = username
            fields["password"] = PASSWORD
            response = browser.request("POST", action or response.url, fields)
            username = None  # one password per flow
        else:
            raise FlowError(f"{target.name}: {response.status} at {response.url}: {response.body[:200]!r}")
    if not code:
        raise FlowError(f"{target.name}: no code came back")
    response = browser.request(
        "POST",
        target.token,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        {"Authorization": basic_auth(CLIENT_ID, target.client_secret)},
    )
    if response.status != 200:
        raise FlowError(f"{target.name}: code exchange {response.status}: {response.body[:300]!r}")
    body = response.json()
    return Tokens(str(body["access_token"]), str(body["refresh_token"]))


@dataclass
class LoginRun:
    concurrency: int
    seconds: float
    completed: int
    errors: int
    latencies_ms: list[float]
    generator_cpu: float
    tokens: list[Tokens]
    first_error: str = ""


def measure_logins(target: Target, users: int, concurrency: int, seconds: float, warmup: float) -> LoginRun:
    """``concurrency`` browsers, each signing a random user in (new session, new connection) again
    and again. Logins completed in the window after ``warmup`` count; the last ones drain after."""
    start = time.monotonic()
    window_start, window_end = start + warmup, start + warmup + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    tokens: list[Tokens] = []
    errors = [0]
    first_error = [""]
    cpu = [0.0]

    def browser_loop(seed: int) -> None:
        rng = random.Random(seed)
        cpu_start = time.thread_time()
        while time.monotonic() < window_end:
            browser = Browser(target.base_url)
            began = time.monotonic()
            try:
                result = sign_in(target, browser, f"user{rng.randint(1, users)}")
            except (FlowError, OSError, KeyError, ValueError) as exc:
                with lock:
                    errors[0] += 1
                    first_error[0] = first_error[0] or repr(exc)
                continue
            finally:
                browser.close()
            ended = time.monotonic()
            with lock:
                tokens.append(result)
                if window_start <= ended <= window_end:
                    latencies.append((ended - began) * 1000)
        with lock:
            cpu[0] += time.thread_time() - cpu_start

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(browser_loop, range(concurrency)))
    return LoginRun(
        concurrency, seconds, len(latencies), errors[0], latencies, cpu[0], tokens, first_error[0]
    )


def mint(target: Target, count: int, users: int, browsers: int = 8) -> list[Tokens]:
    """``count`` fresh token pairs: a few signed-in browsers run code flows on their sessions."""
    minted: list[Tokens] = []
    lock = threading.Lock()

    def loop(seed: int) -> None:
        browser = Browser(target.base_url)
        try:
            result = sign_in(target, browser, f"user{1 + seed % users}")
            while True:
                with lock:
                    if len(minted) >= count:
                        return
                    minted.append(result)
                result = sign_in(target, browser, None)
        finally:
            browser.close()

    with ThreadPoolExecutor(browsers) as pool:
        list(pool.map(loop, range(browsers)))
    return minted[:count]
