"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The browser is launched once per session; every test gets a fresh context (cookies, storage) and
page. The live server runs in a thread of this process, so `settings` overrides made by a test
apply to the requests the browser sends, and the test can read the database the server writes.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in this thread; Django would otherwise refuse
# the ORM calls the tests make to set up data and check what the server wrote.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "e2e-artifacts"
DEFAULT_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the item, so the page fixture can save a screenshot on failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's chromium on PATH "
            "(`make chromium` installs it). Refusing to skip them.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """Open a page in a fresh browser context (its own cookies); call it twice for two people."""
    contexts = []

    def open_page(**options) -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-US", accept_downloads=True, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for number, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            for page_number, opened in enumerate(context.pages):
                opened.screenshot(path=str(ARTIFACTS / f"{name}-{number}-{page_number}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def demo(transactional_db):
    """The demo staff and teams (one user per role), password portal.accounts.demo.DEMO_PASSWORD."""
    from portal.accounts.demo import seed_demo_users

    seed_demo_users()


@pytest.fixture
def book(demo):
    """The demo staff with the demo customers and their policies."""
    from portal.policies.demo import seed_demo_policies

    seed_demo_policies()
