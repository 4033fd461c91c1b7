"""Headless Chromium from Debian's packages over the live bridge, with axe-core in every page.

One browser per test module (start-up is the slow part); cookies are cleared before each test.
Selenium is given Debian's chromedriver and chromium explicitly, so Selenium Manager never runs
and nothing is downloaded. axe-core comes from npm, pinned in tests/browser/package-lock.json.
Screenshots and axe reports go to test-artifacts/browser/ (gitignored; CI keeps it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "browser"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW = (1000, 1000)
# WCAG 2.1 A and AA rules; anything serious or critical fails the test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


def unavailable(reason: str) -> NoReturn:
    """Skip where the browser or axe-core cannot be had; in CI (.ci/run sets the variable) fail."""
    if os.environ.get("IDP_BRIDGE_REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(f"browser tests are required here: {reason}")
    pytest.skip(reason)


def axe_source() -> str:
    """axe.min.js, installed from the lock file with `npm ci` the first time."""
    if not AXE_JS.exists():
        if shutil.which("npm") is None:
            unavailable("npm is not installed, so axe-core cannot be installed (tests/browser/package.json)")
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            unavailable(f"`npm ci` in tests/browser failed; is the npm registry reachable?\n{result.stderr}")
    return AXE_JS.read_text()


@dataclass
class AxeReport:
    page: str
    violations: list[dict[str, Any]]

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("impact") in FAILING_IMPACTS]

    def summary(self) -> str:
        lines = []
        for violation in self.failing:
            targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
            lines.append(f"{violation['impact']}: {violation['id']} ({violation['help']}) at {targets}")
        return "\n".join(lines)


class Pages:
    """The browser as the tests use it: open a path, check it with axe, save a screenshot."""

    def __init__(self, driver: Any, axe: str) -> None:
        self.driver = driver
        self.axe = axe
        self.base_url = ""
        self.reports: list[AxeReport] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path if path.startswith("/") else path)
        self.wait_until_loaded()

    def wait_until_loaded(self) -> None:
        from selenium.webdriver.support.wait import WebDriverWait

        WebDriverWait(self.driver, 15).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    def find(self, selector: str) -> Any:
        """The element, once the page holding it is loaded and it can be clicked or typed into."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.expected_conditions import element_to_be_clickable
        from selenium.webdriver.support.wait import WebDriverWait

        self.wait_until_loaded()
        return WebDriverWait(self.driver, 15).until(element_to_be_clickable((By.CSS_SELECTOR, selector)))

    def navigate(self, action: Any) -> None:
        """Do something that loads a new page (a click, Enter in a form) and wait until it has."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.expected_conditions import staleness_of
        from selenium.webdriver.support.wait import WebDriverWait

        old = self.driver.find_element(By.TAG_NAME, "html")
        action()
        WebDriverWait(self.driver, 15).until(staleness_of(old))
        self.wait_until_loaded()

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def screenshot(self, name: str) -> None:
        """The whole page, as tall as its content (a window cannot outgrow the headless screen)."""
        metrics = {"width": WINDOW[0], "deviceScaleFactor": 1, "mobile": False}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": 300})
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": height})
        try:
            self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def check(self, name: str) -> AxeReport:
        """Screenshot the page, then run axe-core over it; fails on serious or critical violations."""
        from selenium.webdriver.common.by import By

        assert not self.driver.find_elements(By.TAG_NAME, "script"), f"{name}: pages work without JavaScript"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.screenshot(name)
        self.driver.execute_script(self.axe)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
            ".then(r => done(r.violations), e => done({error: String(e)}));",
            AXE_TAGS,
        )
        assert not isinstance(result, dict), f"axe-core did not run on {name}: {result}"
        report = AxeReport(name, result)
        (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(result, indent=2))
        self.reports.append(report)
        assert not report.failing, (
            f"axe-core found serious or critical problems on {name}:\n{report.summary()}"
        )
        return report


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        unavailable("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="idp-bridge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--lang=en-GB"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(*WINDOW)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def pages(chromium: Any, axe: str, bridge_url: str, settings: Any) -> Pages:
    settings.ROOT_URLCONF = "tests.browser.urls"  # the demo relying party, as in `make run`
    chromium.delete_all_cookies()
    pages = Pages(chromium, axe)
    pages.base_url = bridge_url
    return pages
