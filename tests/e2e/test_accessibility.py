"""axe-core (vendored: tests/e2e/vendor/axe.min.js, from the npm package) on every main page of every
role, in Spanish: no "serious" or "critical" violation.

`make screenshots` runs this with AMPARO_SCREENSHOTS=docs/screenshots, and each role's dashboard and
main list are saved there as they were checked.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from .portal_pages import AXE, MAIN_LIST, ROLES, nav_urls, seed_the_demo, signed_in_page

# The demo needs the rejection reasons a migration writes; a browser test's flush would leave them out.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The Django admin (Configuration) is Django's own page, not the portal's.
NOT_OURS = {"admin:index"}
BLOCKING = {"serious", "critical"}


def axe_violations(page):
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]


def test_every_main_page_of_every_role_has_no_serious_or_critical_accessibility_violation(
    new_page, settings, live_server
):
    seed_the_demo(settings)
    shots = os.environ.get("AMPARO_SCREENSHOTS")
    found = {}
    for role in ROLES:
        page = signed_in_page(new_page, role, viewport={"width": 1366, "height": 768})
        urls = {"dashboard:dashboard": reverse("dashboard:dashboard"), **nav_urls(page)}
        for name, url in urls.items():
            if name in NOT_OURS:
                continue
            page.goto(url)
            violations = axe_violations(page)
            if violations:
                found[f"{role} {name}"] = violations
            if shots and name in ("dashboard:dashboard", MAIN_LIST[role]):
                kind = "dashboard" if name == "dashboard:dashboard" else "list"
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f"{role.lower()}-{kind}.png"))
        page.context.close()
    assert found == {}
