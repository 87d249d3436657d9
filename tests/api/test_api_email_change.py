"""Changing the primary email from the app: the password first, a code to the new address, and only
then the account (and the customer record on file) change; the old address is told."""

import pytest
from django.core import mail

from api.tokens import token_pair_for
from portal.audit.models import AuditEvent

from ..factories import CustomerFactory

START = "/api/v1/auth/me/email/"
VERIFY = "/api/v1/auth/me/email/verify/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def access(customer_account):
    return token_pair_for(customer_account)["access"]


def test_the_new_email_is_verified_by_its_code_before_it_changes(
    app_post, customer_account, access, password, code_sent_to
):
    started = app_post(START, {"new_email": "Camila.Nueva@correo.test", "password": password}, token=access)
    customer_account.refresh_from_db()
    assert customer_account.email_primary == "camila@correo.test"

    response = app_post(
        VERIFY,
        {"challenge": started.json()["challenge"], "code": code_sent_to("camila.nueva@correo.test")},
        token=access,
    )

    assert started.status_code == 202
    assert response.status_code == 200 and response.json() == {"email": "camila.nueva@correo.test"}
    customer_account.refresh_from_db()
    assert customer_account.email_primary == "camila.nueva@correo.test"
    assert customer_account.customer.email_primary == "camila.nueva@correo.test"
    assert any("camila@correo.test" in m.to and "changed" in m.subject for m in mail.outbox)
    assert AuditEvent.objects.filter(action="user.email_changed").exists()


def test_the_password_is_asked_first(app_post, access, code_sent_to):
    response = app_post(START, {"new_email": "otra@correo.test", "password": "wrong"}, token=access)

    assert response.status_code == 400 and "password" in str(response.json())
    assert code_sent_to("otra@correo.test") is None


def test_another_users_email_change_code_does_not_apply_to_me(app_post, make_user, access, password, code_sent_to):
    other = make_user(role="CLIENT")
    other_access = token_pair_for(other)["access"]
    started = app_post(START, {"new_email": "suya@correo.test", "password": password}, token=other_access)

    response = app_post(
        VERIFY, {"challenge": started.json()["challenge"], "code": code_sent_to("suya@correo.test")}, token=access
    )

    assert response.status_code == 400
    other.refresh_from_db()
    assert other.email_primary != "suya@correo.test"


def test_an_email_of_another_customer_is_refused_at_verification(
    app_post, customer_account, access, password, code_sent_to, agent
):
    CustomerFactory(agent=agent, created_by=agent, email_primary="ocupado@correo.test")
    started = app_post(START, {"new_email": "ocupado@correo.test", "password": password}, token=access)

    response = app_post(
        VERIFY, {"challenge": started.json()["challenge"], "code": code_sent_to("ocupado@correo.test")}, token=access
    )

    assert response.status_code == 400
    customer_account.refresh_from_db()
    assert customer_account.email_primary == "camila@correo.test"


def test_changing_the_email_needs_a_token(app_post):
    assert app_post(START, {"new_email": "x@correo.test", "password": "x"}).status_code == 401
