"""Real-browser fixtures: a live server on a free port and Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it is pointed at the system chromium (`make browser` installs it).
Screenshots of a failing test land in test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_app, serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_app(tmp_path: Path) -> Any:
    # Always SQLite in a file: the live server runs in another thread and the test reads the same database.
    return make_app(tmp_path, False, WTF_CSRF_ENABLED=True, SERVER_NAME=None)


@pytest.fixture
def live_server(live_app: Any) -> Iterator[str]:
    with serving(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: run `make browser` (make test does it for you).")
    with sync_playwright() as instance:
        yield instance


def _launch(playwright: Any, extra: list[str]) -> Any:
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS + extra)


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    instance = _launch(playwright, [])
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def camera_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with a fake camera (a test pattern) that needs no permission prompt."""
    instance = _launch(playwright, ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    yield instance
    instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash.setdefault(_FAILED, report.failed)
        if report.failed:
            item.stash[_FAILED] = True


_FAILED = pytest.StashKey[bool]()
STEPS = pytest.StashKey[list]()


@pytest.fixture
def steps(request: Any) -> Any:
    """Record a screenshot per journey step; they are written to test-artifacts/ only if the test fails."""
    shots: list[tuple[str, bytes]] = []
    request.node.stash[STEPS] = shots

    def step(page: Any, name: str) -> None:
        shots.append((name, page.screenshot(full_page=True)))

    yield step
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for index, (name, data) in enumerate(shots, start=1):
            (ARTIFACTS / f"{request.node.name}-{index:02d}-{name}.png").write_bytes(data)


def _open_page(browser: Any, request: Any, **context_options: Any) -> Iterator[Any]:
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    yield from _open_page(browser, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Any, request: Any) -> Iterator[Any]:
    yield from _open_page(browser, request, viewport={"width": 375, "height": 740}, is_mobile=True,
                          has_touch=True, device_scale_factor=2)


@pytest.fixture
def camera_page(camera_browser: Any, request: Any) -> Iterator[Any]:
    yield from _open_page(camera_browser, request, viewport={"width": 390, "height": 800})
