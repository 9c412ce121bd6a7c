"""The browser suite: Playwright for Python driving Debian's ``chromium`` (never a downloaded
browser) against the app served by uvicorn on 127.0.0.1, in this test process, on the suite's
database. Every page a test visits through ``visit`` is checked with axe-core (vendored): no
serious or critical accessibility violation. ``shoot`` writes a screenshot to
``build/screenshots`` (or ``CRM_SCREENSHOTS``)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(os.environ.get("CRM_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))
# Flags for a headless Chromium on an offline machine, as root: no background fetches.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CRM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("the browser suite needs Debian's chromium package (apt-get install chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """The app on 127.0.0.1, served by uvicorn in a thread of this process."""

    def __init__(self, app: FastAPI) -> None:
        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(crm_app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(crm_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@contextmanager
def browser_page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) on ``server``. Console errors fail the test."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Actions and assertions wait alike: a page answers slower with the whole suite on two cores
    # (an assertion's own default, 5 s, once ran out while a coupon was being distributed).
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    # A refused request (4xx) is the app at work, answered on the page; htmx also logs it.
    expected = ("Failed to load resource", "Response Status Error Code 4")
    unexpected = [e for e in errors if not e.startswith(expected)]
    assert not unexpected, f"errors in the browser console: {unexpected}"


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, crm: Any) -> Iterator[Page]:
    """A page on the live server; the ``crm`` kit's database is the server's."""
    with browser_page(browser, live_server) as page:
        yield page


@pytest.fixture(scope="module")
def plugin_server(plugin_runtime: Any, plugin_app: FastAPI) -> Iterator[LiveServer]:
    """The app whose runtime loaded the test plugins (``pk``), on 127.0.0.1."""
    server = LiveServer(plugin_app).start()
    yield server
    server.stop()


@pytest.fixture
def pk_page(browser: Browser, plugin_server: LiveServer, pk: Any) -> Iterator[Page]:
    """A page on the app with the test plugins; the ``pk`` kit's database is the server's."""
    with browser_page(browser, plugin_server) as page:
        yield page


def check_accessibility(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    # After a click on a link the new document may still be loading (its head not there yet, where
    # the script goes): check the page the user ends up on.
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    # Colours are checked at rest: a button still fading after a click (a CSS transition) would be
    # measured half-way, and fail or pass with the machine's speed.
    page.add_style_tag(
        content="*, *::before, *::after { transition: none !important; animation: none !important; }"
    )
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {page.url}:\n" + "\n".join(bad)


def visit(page: Page, path: str, *, status: int = 200) -> None:
    """Open ``path``, check its status and its accessibility."""
    response = page.goto(path)
    assert response is not None and response.status == status, f"{path}: {response and response.status}"
    check_accessibility(page)


def shoot(page: Page, name: str) -> Path:
    """A screenshot of the page as it is now, for the issue's record."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, audience: str, email: str, password: str, company: str | None = None) -> None:
    """Sign in through ``audience``'s form (``backoffice``, ``portal`` or ``platform``)."""
    visit(page, f"/{audience}/login")
    if company is not None:
        page.get_by_label("Company").fill(company)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/{audience}/**")
    check_accessibility(page)
