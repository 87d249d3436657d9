"""Each staff role signs in through the real login form and sees its own dashboard and navigation."""

import re

import pytest
from playwright.sync_api import expect

from portal.accounts.demo import DEMO_PASSWORD

from ..helpers import EXPECTED_NAV
from .helpers import sign_in

pytestmark = pytest.mark.e2e

# email, the role's display name, the navigation it must show (exactly, in order)
ROLES = {
    "ADMIN": ("admin@amparo.demo", "Administrator", EXPECTED_NAV["ADMIN"]),
    "SUPERVISOR": ("supervisor@amparo.demo", "Supervisor", EXPECTED_NAV["SUPERVISOR"]),
    "AGENT": ("agent@amparo.demo", "Agent", EXPECTED_NAV["AGENT"]),
    "FINANCE": ("finance@amparo.demo", "Finance", EXPECTED_NAV["FINANCE"]),
    "INTERVENTORIA": ("auditor@amparo.demo", "Interventoría (audit)", EXPECTED_NAV["INTERVENTORIA"]),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_staff_role_lands_on_its_own_dashboard_with_exactly_its_own_navigation(page, demo, live_server, role):
    email, display_name, expected_nav = ROLES[role]

    sign_in(page, email, DEMO_PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("dashboard-title")).to_contain_text(f"{display_name} dashboard")
    expect(page.get_by_test_id("role-badge")).to_have_text(display_name)
    nav_links = page.get_by_test_id("main-nav").locator("a[data-nav]")
    expect(nav_links).to_have_count(len(expected_nav))
    assert [link.get_attribute("data-nav") for link in nav_links.all()] == expected_nav
    expect(page.locator('[data-nav="dashboard:dashboard"]')).to_have_attribute("aria-current", "page")


def test_an_agent_who_types_the_audit_log_address_is_told_why_they_cannot_open_it(page, demo):
    sign_in(page, "agent@amparo.demo", DEMO_PASSWORD)

    response = page.goto("/audit/")

    assert response.status == 403
    denied = page.get_by_test_id("permission-denied")
    expect(denied).to_be_visible()
    expect(denied).to_contain_text("You cannot open this page")
    expect(denied).to_contain_text("The audit log is open to administrators and Interventoría (audit) only.")
    expect(denied).to_contain_text("You are signed in as Agent")
    expect(page.get_by_role("table")).to_have_count(0)


def test_a_customer_who_signs_in_to_the_portal_is_refused_and_pointed_to_the_mobile_app(page, demo, live_server):
    response = sign_in(page, "client@amparo.demo", DEMO_PASSWORD)

    assert response.status == 403
    denied = page.get_by_test_id("permission-denied")
    expect(denied).to_contain_text("The portal is for Amparo staff. Customers sign in with the Amparo mobile app.")
    # Not signed in: going on to the dashboard sends them back to the login form.
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/dashboard/$"))
    expect(page.get_by_test_id("main-nav").locator("a[data-nav]")).to_have_count(0)


def test_the_supervisor_dashboard_lists_their_own_agents_and_not_another_teams_agent(page, demo):
    sign_in(page, "supervisor@amparo.demo", DEMO_PASSWORD)

    agents = page.get_by_test_id("team-agents")
    expect(agents.locator("tbody tr")).to_have_count(2)
    expect(agents).to_contain_text("Ana Agente Martínez")
    expect(agents).to_contain_text("Andrés Agente López")
    expect(agents).to_contain_text("Bogotá Norte")
    expect(agents).not_to_contain_text("Alejandro Agente Vélez")
    expect(agents).not_to_contain_text("Medellín Centro")


def test_switching_the_language_to_spanish_shows_the_page_in_spanish(page, demo, live_server):
    sign_in(page, "finance@amparo.demo", DEMO_PASSWORD)
    title = page.get_by_test_id("dashboard-title")
    stamp = title.locator("xpath=following-sibling::span")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(title).to_have_text("Finance dashboard")

    with page.expect_navigation():
        page.get_by_test_id("language-switch").locator("select").select_option("es-co")

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "es-co")
    expect(page.get_by_test_id("language-switch").locator("select")).to_have_value("es-co")
    expect(title).to_have_text("Panel de Finanzas")
    expect(page.locator('[data-nav="dashboard:dashboard"]')).to_have_text("Panel")
    expect(page.get_by_test_id("role-badge")).to_have_text("Finanzas")
    # Dates follow the es-CO format too.
    expect(stamp).to_have_text(re.compile(r"^\d{1,2} de \w+ de \d{4} a las \d{2}:\d{2}$"))
    # The choice sticks for the next page.
    page.goto("/dashboard/")
    expect(title).to_have_text("Panel de Finanzas")
