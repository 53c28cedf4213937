"""A pytest plugin (loaded for every test by pyproject's addopts, so every app's tests share ONE browser
per process): real-browser fixtures: a live server, one headless Chromium per test process, and pages sized like
the phones village directors actually use (360 x 740) or like an office desktop.

* Chromium is Debian's /usr/bin/chromium (or $CARENET_CHROMIUM), driven by Playwright's bundled
  driver; Playwright's own browser downloads are never used. A missing Chromium FAILS the browser
  tests instead of skipping them: a CI run that silently skipped them would prove nothing.
* Playwright's sync API runs an asyncio loop in the test thread, so Django's "you cannot call the ORM
  from async code" guard must be switched off for the test process (the ORM calls are ours, in a
  plain thread, and safe).
* Under xdist every worker is its own process: it gets its own live server (pytest-django's
  session-scoped `live_server`, on a free port) and its own Chromium.
* Static files are served by the live server's StaticFilesHandler from the finders (the vendored
  htmx and Pico CSS come from node_modules via STATICFILES_DIRS); `collectstatic` is not needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
TIMEOUT_MS = 15_000  # generous: two xdist workers and two Chromiums share a 2-core CI machine


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    """Remember each phase's outcome on the item so page fixtures can screenshot a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest) -> None:
    """Browser tests sign in for real, and PBKDF2 at 1.5M rounds costs ~1 s per sign-in on a CI machine.
    MD5 goes first for speed; the default hashers stay accepted for any hash made before the override
    (tests_support.factories caches the demo password's hash per PASSWORD_HASHERS value)."""
    if not request.node.get_closest_marker("browser"):
        return
    from django.conf import settings as django_settings

    md5 = "django.contrib.auth.hashers.MD5PasswordHasher"
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = [md5, *(h for h in django_settings.PASSWORD_HASHERS if h != md5)]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("CARENET_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {path}: the browser tests cannot run. Install it with "
            "`apt-get install -y chromium` (or point CARENET_CHROMIUM at a Chromium binary). "
            "Browser tests fail rather than skip so that CI never passes without them.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the lock installs it
        pytest.fail(f"the playwright package is missing from the environment: {exc}", pytrace=False)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProblems:
    """Static files that failed to load and uncaught script errors, collected while a page is in use."""

    def __init__(self) -> None:
        self.static_failures: list[str] = []
        self.script_errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("pageerror", lambda exc: self.script_errors.append(str(exc)))

    def _on_response(self, response: Any) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.static_failures.append(f"{response.status} {response.url}")

    def _on_request_failed(self, request: Any) -> None:
        if "/static/" in request.url:
            self.static_failures.append(f"failed {request.url}: {request.failure}")


def _open_page(
    request: pytest.FixtureRequest, browser: Any, base_url: str, options: dict[str, Any], label: str
) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = PageProblems()
    problems.watch(page)
    page.problems = problems
    try:
        yield page
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            _screenshot(page, f"failures/{request.node.name}-{label}")
    finally:
        context.close()
    # Checked after the test body: a 404 on htmx.min.js or a script error fails the test that saw it.
    assert not problems.static_failures, f"static files failed to load: {problems.static_failures}"
    assert not problems.script_errors, f"uncaught script errors in the page: {problems.script_errors}"


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Any]:
    """A phone: 360 x 740 CSS pixels, touch, zh-CN. `page.goto("/children/")` is relative to the live server."""
    yield from _open_page(request, browser, live_server.url, PHONE, "phone")


@pytest.fixture
def desktop_page(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Any]:
    yield from _open_page(request, browser, live_server.url, DESKTOP, "desktop")


def _screenshot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """`screenshot(page, "phone-home")` writes test-artifacts/phone-home.png (a full-page capture)."""
    return _screenshot
