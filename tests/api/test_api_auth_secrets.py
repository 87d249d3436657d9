"""No code, token or password reaches a log line or an audit event, on any path of signing up,
signing in, refreshing, resetting the password or signing out."""

import logging

import pytest

from portal.audit.models import AuditEvent

REGISTER = "/api/v1/auth/register/"
SIGN_IN = "/api/v1/auth/token/"
VERIFY = "/api/v1/auth/otp/verify/"
REFRESH = "/api/v1/auth/token/refresh/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
LOGOUT = "/api/v1/auth/logout/"
SIGN_UP_PASSWORD = "Registro-secreto-2026"
NEW_PASSWORD = "Cambio-secreto-2026"


@pytest.mark.django_db
def test_no_secret_reaches_the_logs_or_the_audit_trail(
    app_post, code_sent_to, customer_account, password, direct_agent, caplog
):
    caplog.set_level(logging.DEBUG)
    secrets = [SIGN_UP_PASSWORD, NEW_PASSWORD, password]

    signup = app_post(
        REGISTER,
        {
            "full_name": "Pedro Registro",
            "id_type": "CC",
            "id_number": "80123456",
            "email": "pedro@correo.test",
            "phone": "3001234567",
            "birth_date": "1985-01-01",
            "password": SIGN_UP_PASSWORD,
        },
    )
    signup_code = code_sent_to("pedro@correo.test")
    wrong_code = f"{(int(signup_code) + 1) % 1_000_000:06d}"
    app_post(VERIFY, {"challenge": signup.json()["challenge"], "code": wrong_code})
    app_post(VERIFY, {"challenge": signup.json()["challenge"], "code": signup_code})
    app_post(SIGN_IN, {"email": customer_account.email_primary, "password": "a-wrong-one-" + password})
    started = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password})
    sign_in_code = code_sent_to(customer_account.email_primary)
    tokens = app_post(VERIFY, {"challenge": started.json()["challenge"], "code": sign_in_code}).json()
    renewed = app_post(REFRESH, {"refresh": tokens["refresh"]}).json()
    app_post(LOGOUT, token=renewed["access"])
    reset = app_post(RESET, {"email": customer_account.email_primary})
    reset_code = code_sent_to(customer_account.email_primary)
    app_post(CONFIRM, {"challenge": reset.json()["challenge"], "code": reset_code, "new_password": NEW_PASSWORD})
    secrets += [signup_code, sign_in_code, reset_code, *tokens.values(), *renewed.values()]

    logged = caplog.text
    audited = " ".join(str(event.metadata) + event.actor_label for event in AuditEvent.objects.all())
    assert caplog.records, "the flow logs nothing at all: this test would prove nothing"
    assert AuditEvent.objects.filter(action__startswith="auth.").count() > 5
    for secret in secrets:
        assert secret and secret not in logged
        assert secret not in audited
