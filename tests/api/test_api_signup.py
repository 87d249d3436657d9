"""Sign-up in the app: a code to the email on file when a customer with that ID exists (to the typed
one otherwise), a pending account until the code comes back, then the account is linked to its
customer (a new one in the direct book), and the answer never tells what already existed."""

import pytest
from django.core import mail

from portal.accounts.models import OtpChallenge, Role, User, UserStatus
from portal.audit.models import AuditEvent
from portal.customers.models import Customer

from ..factories import CustomerFactory

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/otp/verify/"
SIGN_IN = "/api/v1/auth/token/"
NEW_PASSWORD = "Una-clave-segura-2026"

pytestmark = pytest.mark.django_db


def signup(**overrides):
    return {
        "full_name": "Laura Nueva Pérez",
        "id_type": "CC",
        "id_number": "1098765432",
        "email": "laura@correo.test",
        "phone": "+57 311 222 3333",
        "birth_date": "1990-04-12",
        "password": NEW_PASSWORD,
        **overrides,
    }


def test_a_new_person_gets_a_code_and_becomes_a_customer_of_the_direct_book_once_verified(
    app_post, code_sent_to, direct_agent
):
    response = app_post(REGISTER, signup())

    assert response.status_code == 202
    assert set(response.json()) == {"challenge", "method", "expires_in", "resend_after", "detail"}
    user = User.objects.get(email_primary="laura@correo.test")
    assert (user.status, user.role) == (UserStatus.PENDING_VERIFICATION, Role.CLIENT)
    assert not Customer.objects.filter(id_number="1098765432").exists()

    verified = app_post(VERIFY, {"challenge": response.json()["challenge"], "code": code_sent_to("laura@correo.test")})

    assert verified.status_code == 200 and set(verified.json()) == {"access", "refresh"}
    user.refresh_from_db()
    customer = Customer.objects.get(id_number="1098765432")
    assert user.status == UserStatus.ACTIVE
    assert (customer.user, customer.agent, customer.email_primary) == (user, direct_agent, "laura@correo.test")
    assert AuditEvent.objects.filter(action="user.verified", target_id=str(user.pk)).exists()


def test_an_existing_customer_gets_the_code_at_the_email_on_file_never_at_the_typed_one(
    app_post, code_sent_to, agent, direct_agent
):
    customer = CustomerFactory(agent=agent, created_by=agent, id_number="52111222", email_primary="real@correo.test")

    response = app_post(REGISTER, signup(id_number="52 111 222", email="intruso@correo.test"))

    assert response.status_code == 202
    assert code_sent_to("intruso@correo.test") is None
    code = code_sent_to("real@correo.test")
    assert code is not None
    verified = app_post(VERIFY, {"challenge": response.json()["challenge"], "code": code})

    assert verified.status_code == 200
    customer.refresh_from_db()
    assert customer.user.email_primary == "real@correo.test"
    assert customer.agent == agent
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("case", ["customer_with_account", "email_of_another_customer", "active_account_email"])
def test_details_that_cannot_sign_up_get_the_same_answer_and_no_usable_code(
    case, app_post, code_sent_to, customer_account, direct_agent
):
    owner = customer_account.customer
    typed = {
        "customer_with_account": signup(id_number=owner.id_number, email="otro@correo.test"),
        "email_of_another_customer": signup(email=owner.email_primary),
        "active_account_email": signup(email=customer_account.email_primary),
    }[case]
    fresh = app_post(REGISTER, signup(id_number="77777777", email="libre@correo.test"))

    response = app_post(REGISTER, typed)

    assert response.status_code == fresh.status_code == 202
    assert set(response.json()) == set(fresh.json())
    assert response.json()["detail"] == fresh.json()["detail"]
    assert code_sent_to(typed["email"]) is None
    # The owner of the address on file is told, without a code.
    assert any(owner.email_primary in m.to and "already have one" in m.body for m in mail.outbox)
    challenge = OtpChallenge.objects.get(pk=response.json()["challenge"])
    assert challenge.user is None
    for guess in ["000000", "123456"]:
        assert app_post(VERIFY, {"challenge": str(challenge.pk), "code": guess}).status_code == 400
    assert User.objects.filter(role=Role.CLIENT).count() == 2


def test_a_weak_password_is_refused_and_nothing_is_created(app_post, direct_agent):
    response = app_post(REGISTER, signup(password="12345678"))

    assert response.status_code == 400
    assert "password" in str(response.json())
    assert not User.objects.filter(email_primary="laura@correo.test").exists()
    assert not OtpChallenge.objects.exists()


def test_a_second_sign_up_takes_over_the_unfinished_one_and_only_its_code_works(app_post, code_sent_to, direct_agent):
    first = app_post(REGISTER, signup())
    first_code = code_sent_to("laura@correo.test")
    second = app_post(REGISTER, signup(full_name="Laura Corregida Pérez"))
    second_code = code_sent_to("laura@correo.test")

    stale = app_post(VERIFY, {"challenge": first.json()["challenge"], "code": first_code})
    fresh = app_post(VERIFY, {"challenge": second.json()["challenge"], "code": second_code})

    assert stale.status_code == 400
    assert fresh.status_code == 200
    assert User.objects.get(email_primary="laura@correo.test").full_name == "Laura Corregida Pérez"


def test_an_unverified_account_cannot_sign_in(app_post, direct_agent):
    app_post(REGISTER, signup())

    response = app_post(SIGN_IN, {"email": "laura@correo.test", "password": NEW_PASSWORD})

    assert response.status_code == 401
    assert "detail" in response.json()


def test_staff_details_never_become_an_app_account(app_post, code_sent_to, agent, direct_agent):
    response = app_post(REGISTER, signup(email=agent.email_primary))

    assert response.status_code == 202
    assert code_sent_to(agent.email_primary) is None
    agent.refresh_from_db()
    assert agent.role == Role.AGENT and agent.status == UserStatus.ACTIVE


def test_the_direct_book_must_name_an_active_agent(app_post, code_sent_to, settings, direct_agent):
    settings.AMPARO_DIRECT_BOOK_AGENT_EMAIL = "nadie@amparo.test"
    response = app_post(REGISTER, signup())

    verified = app_post(VERIFY, {"challenge": response.json()["challenge"], "code": code_sent_to("laura@correo.test")})

    assert verified.status_code == 400
    assert "not available" in str(verified.json())
    assert User.objects.get(email_primary="laura@correo.test").status == UserStatus.PENDING_VERIFICATION
    assert OtpChallenge.objects.get(pk=response.json()["challenge"]).status == OtpChallenge.Status.PENDING


def test_a_customer_record_without_email_cannot_sign_up_in_the_app(app_post, code_sent_to, agent, direct_agent):
    CustomerFactory(agent=agent, created_by=agent, id_number="52999000", email_primary="")

    response = app_post(REGISTER, signup(id_number="52999000", email="yo@correo.test"))

    assert response.status_code == 202
    assert code_sent_to("yo@correo.test") is None
    assert not User.objects.filter(role=Role.CLIENT).exists()
