"""What the layout, accessibility and screenshot checks share: the demo, one browser context per role,
signed in, in the portal's default language (Spanish)."""

from pathlib import Path

from portal.accounts.demo import DEMO_PASSWORD

ROLES = {
    "ADMIN": "admin@amparo.demo",
    "SUPERVISOR": "supervisor@amparo.demo",
    "AGENT": "agent@amparo.demo",
    "FINANCE": "finance@amparo.demo",
    "INTERVENTORIA": "auditor@amparo.demo",
}
# Each role's main list: the page its day starts from.
MAIN_LIST = {
    "ADMIN": "claims:claim_list",
    "SUPERVISOR": "claims:claim_list",
    "AGENT": "policies:policy_list",
    "FINANCE": "payments:payment_list",
    "INTERVENTORIA": "audit:log",
}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def seed_the_demo(settings):
    """The whole demo (policies, claims, payments, bordereaux) with Spanish as the default language."""
    from portal.dashboard.demo import seed_demo

    settings.LANGUAGE_CODE = "es-co"
    seed_demo()


def signed_in_page(new_page, role, **context):
    """A new browser context signed in as the role's demo user (through the form, whatever its language)."""
    page = new_page(**context)
    page.goto("/accounts/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=login]").fill(ROLES[role])
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    return page


def nav_urls(page):
    """The role's navigation as {url name: address}, read from the bar."""
    links = page.get_by_test_id("main-nav").locator("a[data-nav]")
    return {link.get_attribute("data-nav"): link.get_attribute("href") for link in links.all()}
