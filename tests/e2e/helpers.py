"""Steps several browser tests share."""

import re

from playwright.sync_api import Page, expect


def sign_in(page: Page, email: str, password: str):
    """Sign in through the real login form and wait for the answer to the POST."""
    page.goto("/accounts/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/accounts/login/" in r.url) as answer:
        form.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return answer.value


def sign_out(page: Page):
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def open_from_navigation(page: Page, name: str):
    """Click the navigation entry `name` (a URL name), opening its area's menu first when it has one."""
    link = page.locator(f'[data-nav="{name}"]')
    area = link.locator("xpath=ancestor::li[contains(@class, 'dropdown')]/button")
    if area.count():
        area.click()
    link.click()


def mark_document(page: Page):
    """Tag the loaded document; a full reload would lose the tag, an HTMX swap keeps it."""
    page.evaluate("window.__amparoNoReload = 'same document'")


def assert_same_document(page: Page):
    assert page.evaluate("window.__amparoNoReload") == "same document", "the page was reloaded"
