"""Staff enrol an authenticator app on first sign-in and are asked for its code on the next one."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory

from .helpers import sign_in, sign_out

pytestmark = pytest.mark.e2e

STEP = 30


def key_from_secret(shown):
    """The key bytes behind the base32 secret the set-up page shows in groups of four."""
    secret = shown.replace(" ", "").upper()
    return b32decode(secret + "=" * (-len(secret) % 8))


def code_at(key, *, steps_ahead=0):
    """The 6-digit code an authenticator app shows `steps_ahead` time steps from now."""
    totp = TOTP(key, step=STEP, digits=6)
    totp.time = time.time() + steps_ahead * STEP
    return f"{totp.token():06d}"


def a_wrong_code(key):
    """A code that is none of those the server accepts right now (tolerance is one step either way)."""
    accepted = {code_at(key, steps_ahead=offset) for offset in range(-2, 4)}
    return next(code for code in (f"{n:06d}" for n in range(0, 1_000_000, 111_111)) if code not in accepted)


def test_a_staff_user_enrols_an_authenticator_and_needs_its_code_at_the_next_sign_in(
    new_page, live_server, transactional_db, require_2fa
):
    page = new_page()
    user = UserFactory(role=Role.SUPERVISOR, full_name="Sara Segura Peña")

    # First sign-in: sent straight to the set-up page, with the dashboard as where to go next.
    sign_in(page, user.email_primary, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/security/two-factor/\?next=(/|%2F)dashboard(/|%2F)$"))
    secret = page.get_by_test_id("totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret), secret
    key = key_from_secret(secret)
    # Until the code is in, other pages are out of reach.
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/security/two-factor/\?next=(/|%2F)dashboard(/|%2F)$"))

    form = page.get_by_test_id("two-factor-form")
    form.get_by_label("Code from your authenticator app").fill(code_at(key))
    form.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("Supervisor dashboard")
    expect(page.get_by_test_id("flash")).to_contain_text("Two-factor authentication is on.")
    security = page.get_by_test_id("security-card")
    expect(security.locator(".badge")).to_have_text("On")
    expect(security.get_by_role("link", name="Turn it on")).to_have_count(0)
    enrolled = AuditEvent.objects.filter(action="auth.2fa_enrolled", actor=user)
    assert enrolled.count() == 1
    assert enrolled.get().target_id == str(user.pk)

    sign_out(page)

    # Second sign-in: asked for the code, not for a new enrolment.
    sign_in(page, user.email_primary, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/security/two-factor/verify/\?next=(/|%2F)dashboard(/|%2F)$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_test_id("totp-secret")).to_have_count(0)

    form = page.get_by_test_id("two-factor-form")
    form.get_by_label("Code from your authenticator app").fill(a_wrong_code(key))
    form.get_by_role("button", name="Verify").click()
    wrong_at = time.monotonic()
    expect(form).to_contain_text("That code is not right, or it has already been used. Try the next one.")
    expect(page).to_have_url(re.compile(r"/security/two-factor/verify/"))
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/security/two-factor/verify/\?next=(/|%2F)dashboard(/|%2F)$"))

    # django-otp throttles a device for a second after one failure (1, 2, 4... seconds): a person
    # retyping the code takes longer than that, so wait out only what is left of it.
    time.sleep(max(0.0, 1.1 - (time.monotonic() - wrong_at)))
    # The enrolment used the current time step and a step is accepted only once, so type the code of
    # the next step: the server accepts one step of clock drift either way.
    form = page.get_by_test_id("two-factor-form")
    form.get_by_label("Code from your authenticator app").fill(code_at(key, steps_ahead=1))
    form.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("Supervisor dashboard")
    actions = list(AuditEvent.objects.filter(actor=user).order_by("occurred_at", "id").values_list("action", flat=True))
    assert actions == [
        "auth.sign_in",
        "auth.2fa_enrolled",
        "auth.sign_out",
        "auth.sign_in",
        "auth.2fa_failed",
        "auth.2fa_verified",
    ]
