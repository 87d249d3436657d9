"""Repeated wrong passwords lock sign-in for that email from that address, even with the right password."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory

from .helpers import sign_in

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "The email address and/or password you specified are not correct."


def test_after_too_many_wrong_passwords_even_the_right_one_shows_the_locked_out_page(page, transactional_db):
    user = UserFactory(role=Role.AGENT, email_primary="lucia.lopez@amparo.test")
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5

    for attempt in range(1, limit):
        response = sign_in(page, user.email_primary, f"wrong-password-{attempt}")
        assert response.status == 200, attempt
        expect(page.get_by_test_id("login-form")).to_contain_text(WRONG_PASSWORD)
        expect(page.get_by_test_id("locked-out")).to_have_count(0)

    # The failure that reaches the limit already answers with the locked-out page...
    response = sign_in(page, user.email_primary, f"wrong-password-{limit}")
    assert response.status == 429
    expect(page.get_by_test_id("locked-out")).to_be_visible()

    # ...and so does the next attempt, although its password is right.
    response = sign_in(page, user.email_primary, TEST_PASSWORD)

    assert response.status == 429
    locked = page.get_by_test_id("locked-out")
    expect(locked).to_be_visible()
    expect(locked).to_contain_text("Sign-in temporarily locked")
    expect(locked).to_contain_text(re.compile(r"Wait \d+ minutes and try again"))
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_label=user.email_primary).exists()
    assert not AuditEvent.objects.filter(action="auth.sign_in", actor=user).exists()


def test_a_locked_email_does_not_lock_out_a_colleague_signing_in_from_the_same_address(page, transactional_db):
    locked_user = UserFactory(role=Role.AGENT)
    colleague = UserFactory(role=Role.FINANCE)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(page, locked_user.email_primary, f"wrong-password-{attempt}")
    expect(page.get_by_test_id("locked-out")).to_be_visible()

    response = sign_in(page, colleague.email_primary, TEST_PASSWORD)

    assert response.status == 302
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("Finance dashboard")
