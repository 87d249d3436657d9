"""Password reset by emailed code: the same answer whether or not the email has an account, Django's
password rules, and every token of the account revoked once the password changes."""

import pytest
from django.core import mail

from api.tokens import token_pair_for
from portal.accounts.models import OtpChallenge
from portal.audit.models import AuditEvent

RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
SIGN_IN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
NEW_PASSWORD = "Clave-nueva-segura-2026"

pytestmark = pytest.mark.django_db


def test_a_customer_resets_the_password_with_the_emailed_code(app_post, customer_account, code_sent_to):
    tokens = token_pair_for(customer_account)
    started = app_post(RESET, {"email": customer_account.email_primary})

    response = app_post(
        CONFIRM,
        {
            "challenge": started.json()["challenge"],
            "code": code_sent_to("camila@correo.test"),
            "new_password": NEW_PASSWORD,
        },
    )

    assert started.status_code == 202
    assert response.status_code == 200 and "detail" in response.json()
    customer_account.refresh_from_db()
    assert customer_account.check_password(NEW_PASSWORD)
    assert app_post(LOGOUT, token=tokens["access"]).status_code == 401
    assert app_post(SIGN_IN, {"email": "camila@correo.test", "password": NEW_PASSWORD}).status_code == 202
    assert AuditEvent.objects.filter(action="auth.password_reset", target_id=str(customer_account.pk)).exists()


def test_an_unknown_email_gets_the_same_answer_and_no_email(app_post, customer_account):
    known = app_post(RESET, {"email": customer_account.email_primary})
    sent = len(mail.outbox)

    unknown = app_post(RESET, {"email": "nadie@correo.test"})

    assert unknown.status_code == known.status_code == 202
    assert set(unknown.json()) == set(known.json()) and unknown.json()["detail"] == known.json()["detail"]
    assert len(mail.outbox) == sent
    assert (
        app_post(
            CONFIRM, {"challenge": unknown.json()["challenge"], "code": "123456", "new_password": NEW_PASSWORD}
        ).status_code
        == 400
    )


def test_a_weak_new_password_is_refused_and_the_code_stays_usable(app_post, customer_account, code_sent_to, password):
    started = app_post(RESET, {"email": customer_account.email_primary})
    code = code_sent_to("camila@correo.test")

    weak = app_post(CONFIRM, {"challenge": started.json()["challenge"], "code": code, "new_password": "camila"})
    strong = app_post(CONFIRM, {"challenge": started.json()["challenge"], "code": code, "new_password": NEW_PASSWORD})

    assert weak.status_code == 400 and "new_password" in str(weak.json())
    assert strong.status_code == 200


def test_a_wrong_code_changes_nothing(app_post, customer_account, password):
    started = app_post(RESET, {"email": customer_account.email_primary})

    response = app_post(
        CONFIRM, {"challenge": started.json()["challenge"], "code": "000000", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    customer_account.refresh_from_db()
    assert customer_account.check_password(password)
    assert OtpChallenge.objects.get(pk=started.json()["challenge"]).failed_attempts == 1


def test_a_suspended_account_gets_no_reset_code(app_post, customer_account, code_sent_to):
    customer_account.status = "SUSPENDED"
    customer_account.save(update_fields=["status"])

    response = app_post(RESET, {"email": customer_account.email_primary})

    assert response.status_code == 202
    assert code_sent_to(customer_account.email_primary) is None


def test_a_sign_in_code_does_not_reset_a_password(app_post, customer_account, password, code_sent_to):
    started = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password})

    response = app_post(
        CONFIRM,
        {
            "challenge": started.json()["challenge"],
            "code": code_sent_to("camila@correo.test"),
            "new_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 400
    customer_account.refresh_from_db()
    assert customer_account.check_password(password)
