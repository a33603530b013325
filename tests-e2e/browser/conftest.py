"""A real headless Chromium for the pages' tests: Debian's `chromium` (installed by install-chromium.sh beside this
file, which `make test` runs), driven by Playwright's Python package through `executable_path`, so no browser
build of Playwright's own is downloaded. The browser is started once per module (about a second) and closed
before the next: Playwright's sync API keeps an event loop of its own, which would stand in the way of the other
modules' asyncio.run. Each test gets a fresh context (no cookies) and a page that fails the test on any console
error or uncaught exception of the page's scripts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# SCREENSHOTS=1: the tests also save the main pages as PNGs into docs/screenshots (shown in the README).
TAKE_SCREENSHOTS = os.environ.get("SCREENSHOTS", "") not in ("", "0", "false")
TIMEOUT_MS = 10_000


def chromium_executable() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is missing: `make test` installs it (sh tests-e2e/browser/install-chromium.sh, as root)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # As root (CI, containers) Chromium refuses to start without --no-sandbox.
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=args)
        try:
            yield launched
        finally:
            launched.close()


class ConsoleErrors:
    """The page's console errors and uncaught exceptions. Chromium also logs every answer of 400 or more as a console
    error ("Failed to load resource"); for a page itself (a document) that is a status the test asked for and
    checks (a refused form's 403), so those are left out, while an asset or a script's fetch that fails counts."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, str]] = []
        self._refused_documents: set[str] = set()

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._seen.append((message.text, message.location.get("url", "")))

    def note_response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type == "document":
            self._refused_documents.add(response.url)

    def uncaught(self, exc: Exception) -> None:
        self._seen.append((f"uncaught: {exc}", ""))

    def errors(self) -> list[str]:
        return [f"{text} ({url})" for text, url in self._seen
                if not (text.startswith("Failed to load resource") and url in self._refused_documents)]


def _page(browser: Browser, width: int) -> tuple[Page, ConsoleErrors, Callable[[], None]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = ConsoleErrors()
    page.on("console", errors.record)
    page.on("response", errors.note_response)
    page.on("pageerror", errors.uncaught)
    return page, errors, context.close


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A headless page, 1100 px wide; the test fails if the page logs an error to its console."""
    page, errors, close = _page(browser, 1100)
    yield page
    close()
    assert not errors.errors(), f"console errors: {errors.errors()}"


@pytest.fixture
def another_page(browser: Browser) -> Iterator[Callable[[int], Page]]:
    """More pages (another user, a phone's 360 px), each in its own context, held to the same rule."""
    opened: list[tuple[ConsoleErrors, Callable[[], None]]] = []

    def open_page(width: int = 1100) -> Page:
        page, errors, close = _page(browser, width)
        opened.append((errors, close))
        return page

    yield open_page
    for errors, close in opened:
        close()
        assert not errors.errors(), f"console errors: {errors.errors()}"


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Saves the page into docs/screenshots/<name>.png when SCREENSHOTS=1 (how the README's pictures are made)."""
    def take(page: Page, name: str) -> None:
        if TAKE_SCREENSHOTS:
            DOCS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)

    return take


class PageChecks:
    """What every page should be: each control labelled, readable at a phone's width."""

    @staticmethod
    def every_control_labelled(page: Page) -> None:
        unlabelled = page.evaluate("""() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, textarea')]
            .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name || el.id)""")
        assert unlabelled == [], f"controls without a label: {unlabelled}"

    @staticmethod
    def fits(page: Page, width: int) -> None:
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= width, f"the page is {scroll} px wide at a {width} px viewport"


@pytest.fixture
def checks() -> type[PageChecks]:
    return PageChecks
