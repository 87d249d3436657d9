"""The portal on a laptop (1366x768) and a phone (390x844), for each role, in Spanish: the navigation on
one line with the user menu in view, results above the fold on the claims queue and the policy list,
and a menu and a readable policy page on a phone."""

import pytest
from playwright.sync_api import expect

from .portal_pages import ROLES, nav_urls, seed_the_demo, signed_in_page

# The demo needs the rejection reasons a migration writes; a browser test's flush would leave them out.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def test_each_role_gets_a_one_line_navigation_and_its_first_results_above_the_fold_on_a_laptop(
    new_page, settings, live_server
):
    seed_the_demo(settings)
    for role in ROLES:
        page = signed_in_page(new_page, role, viewport=LAPTOP)
        expect(page.locator("html")).to_have_attribute("lang", "es-co")

        entries = page.get_by_test_id("main-nav").locator(":scope > li")
        tops = {round(entry.bounding_box()["y"]) for entry in entries.all()}
        assert len(tops) == 1, f"{role}: the navigation wraps onto {len(tops)} lines"
        menu = page.get_by_test_id("user-menu").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= LAPTOP["width"], f"{role}: user menu cut off"
        assert menu["y"] >= 0 and menu["y"] + menu["height"] <= LAPTOP["height"]

        urls = nav_urls(page)
        for name in ("claims:claim_list", "policies:policy_list"):
            page.goto(urls[name])
            first_row = page.locator("#results tbody tr").first
            expect(first_row).to_be_visible()
            box = first_row.bounding_box()
            assert box["y"] + box["height"] <= LAPTOP["height"], f"{role}: first row of {name} below the fold"
            # Identifiers and dates stay on one line: a row is one text line high.
            assert box["height"] < 48, f"{role}: a row of {name} wraps ({box['height']} px)"
        page.context.close()


def test_on_a_phone_the_menu_opens_and_a_policy_page_is_readable(new_page, settings, live_server):
    seed_the_demo(settings)
    page = signed_in_page(new_page, "AGENT", viewport=PHONE, is_mobile=True, has_touch=True)

    nav = page.get_by_test_id("main-nav")
    expect(nav).to_be_hidden()
    page.locator(".navbar-toggler").click()
    expect(nav).to_be_visible()
    sales = page.locator('[data-nav-area="sales"]')
    sales.click()
    policies = page.locator('[data-nav="policies:policy_list"]')
    expect(policies).to_be_visible()
    policies.click()

    page.locator("#results tbody tr a").first.click()
    expect(page.locator("h1")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the policy page is {overflow} px wider than the phone"
    font_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
    assert font_size >= 14
