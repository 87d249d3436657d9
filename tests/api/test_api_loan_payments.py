"""Repaying a loan online: the app starts a Wompi payment for what its loan has due
(POST /api/v1/loans/{id}/payments/), and Wompi's signed APPROVED event records it through the payments
ledger and pays the loan's instalments oldest first, exactly once however often, or however
concurrently, the event arrives. Another customer's loan is not found, bad amounts are 400 with
nothing sent to Wompi, and a loan that is not running cannot be paid."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.loans import services
from portal.loans.models import AccountState, LoanInstalment, LoanRepayment
from portal.loans.selectors import loan_amount_due
from portal.payments.models import LedgerEntry, Payment

from ..factories import CustomerFactory, UserFactory, apply_loan, issue_policy
from ..helpers import approved, fresh, run_together
from ..wompi_server import APPROVING_NEQUI

pytestmark = pytest.mark.django_db

WEBHOOK = reverse("api:wompi_webhook")


def payments_url(loan):
    return f"/api/v1/loans/{loan.pk}/payments/"


def nequi(**changes):
    return {"method": "NEQUI", "phone_number": APPROVING_NEQUI, **changes}


def disbursed(loan, settings):
    loan = approved(loan, settings)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="B")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    return fresh(loan)


@pytest.fixture
def loan(customer_account, settings):
    policy = issue_policy(customer=customer_account.customer)
    return disbursed(apply_loan(policy=policy, amount="1000000", tenure_months=3), settings)


def instalments(loan):
    return list(LoanInstalment.objects.filter(loan=loan).order_by("sequence"))


def started(customer_client, loan, **body):
    response = customer_client.post(payments_url(loan), nequi(**body), format="json")
    assert response.status_code == 201, response.json()
    return GatewayTransaction.objects.get(pk=response.json()["id"])


def deliver(client, capture, body, headers):
    """POST one signed event as Wompi does; the worker's task runs once the request commits."""
    with capture(execute=True):
        return client.post(WEBHOOK, data=body, content_type="application/json", headers=headers)


def effects():
    return {
        "repayments": LoanRepayment.objects.count(),
        "payments": Payment.objects.filter(direction=Payment.Direction.IN).count(),
        "entries": LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count(),
        "paid": sorted(LoanInstalment.objects.values_list("sequence", "status", "interest_paid", "principal_paid")),
    }


def test_the_app_starts_a_wompi_payment_for_what_the_loan_has_due(customer_client, wompi, loan):
    first = instalments(loan)[0]

    response = customer_client.post(payments_url(loan), nequi(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["currency"], Decimal(body["amount"])) == ("PENDING", "COP", first.outstanding)
    attempt = GatewayTransaction.objects.get(pk=body["id"])
    assert (attempt.paid_for_type, attempt.paid_for_id) == ("loans.loan", str(loan.pk))
    assert response["Location"].endswith(f"/api/v1/payments/attempts/{attempt.pk}/")
    assert wompi.calls("POST", "/v1/transactions") == 1
    listed = customer_client.get(payments_url(loan)).json()
    assert [row["id"] for row in listed["results"]] == [attempt.pk]


def test_what_is_due_is_every_late_instalment_or_else_the_next_one(loan):
    one, two, _three = instalments(loan)

    assert loan_amount_due(loan, one.due_date - timedelta(days=1)) == one.outstanding
    assert loan_amount_due(loan, two.due_date) == one.outstanding + two.outstanding


def test_the_signed_approval_repays_the_oldest_instalment_through_the_ledger(
    customer_client, client, wompi, loan, django_capture_on_commit_callbacks
):
    attempt = started(customer_client, loan, amount="400000.00")
    wompi.settle(attempt.wompi_id)

    response = deliver(client, django_capture_on_commit_callbacks, *wompi.event(attempt.wompi_id))

    assert response.status_code == 200
    attempt.refresh_from_db()
    assert attempt.status == GatewayTransaction.Status.APPROVED and attempt.payment is not None
    payment = attempt.payment
    assert (payment.amount, payment.method, payment.reference) == (Decimal("400000.00"), "NEQUI", attempt.reference)
    assert (payment.source_type, payment.source_id) == ("loans.loan", str(loan.pk))
    entry = LedgerEntry.objects.get(payment=payment)
    assert (entry.kind, entry.amount) == (LedgerEntry.Kind.PAYMENT_RECEIVED, Decimal("-400000.00"))
    repayment = LoanRepayment.objects.get(payment=payment)
    one, two, three = instalments(loan)
    assert (one.status, two.status, three.status) == ("PAID", "OPEN", "OPEN")
    assert two.paid == Decimal("400000.00") - one.amount and repayment.credited == 0
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert AuditEvent.objects.filter(action="loan.repaid", target_id=str(loan.pk), actor_label="gateway").exists()


def test_paying_everything_online_closes_the_loan(
    customer_client, client, wompi, loan, django_capture_on_commit_callbacks
):
    owed = sum(row.outstanding for row in instalments(loan))
    attempt = started(customer_client, loan, amount=str(owed))
    wompi.settle(attempt.wompi_id)

    deliver(client, django_capture_on_commit_callbacks, *wompi.event(attempt.wompi_id))

    assert fresh(loan).account_state == AccountState.CLOSED
    assert {row.status for row in instalments(loan)} == {"PAID"}


def test_the_same_event_delivered_again_and_a_second_approval_change_nothing(
    customer_client, client, wompi, loan, django_capture_on_commit_callbacks
):
    attempt = started(customer_client, loan)
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id, timestamp=int(time.time()) - 60)
    deliver(client, django_capture_on_commit_callbacks, body, headers)
    before = effects()

    again = deliver(client, django_capture_on_commit_callbacks, body, headers)
    resent = deliver(client, django_capture_on_commit_callbacks, *wompi.event(attempt.wompi_id))

    assert again.json() == {"status": "duplicate"}
    assert resent.status_code == 200
    assert effects() == before
    assert before["repayments"] == 1
    assert WebhookEvent.objects.order_by("-id").first().status == WebhookEvent.Status.IGNORED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_approvals_of_one_loan_payment_racing_on_threads_repay_it_once(customer_client, wompi, loan):
    attempt = started(customer_client, loan)
    wompi.settle(attempt.wompi_id)
    now = int(time.time())
    deliveries = [wompi.event(attempt.wompi_id, timestamp=now - seconds) for seconds in range(8)] * 2

    def post(delivery):
        body, headers = delivery
        return Client().post(WEBHOOK, data=body, content_type="application/json", headers=headers).status_code

    answers, errors = run_together(post, deliveries)

    assert errors == [] and set(answers) == {200}
    assert LoanRepayment.objects.filter(loan=loan).count() == 1
    assert Payment.objects.filter(reference=attempt.reference).count() == 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 1
    assert instalments(loan)[0].status == "PAID" and instalments(loan)[1].paid == 0


def test_another_customers_loan_is_not_found_and_nothing_is_sent(customer_client, wompi, loan, settings):
    stranger = CustomerFactory(email_primary="otro@correo.test")
    theirs = disbursed(apply_loan(policy=issue_policy(customer=stranger), amount="1000000", tenure_months=3), settings)

    assert customer_client.post(payments_url(theirs), nequi(), format="json").status_code == 404
    assert customer_client.get(payments_url(theirs)).status_code == 404
    assert wompi.calls("POST", "/v1/transactions") == 0
    assert not GatewayTransaction.objects.exists()


@pytest.mark.parametrize(
    ("amount", "field"),
    [("0", "amount"), ("-5000", "amount"), ("cien mil", "amount"), ("1000.005", "amount"), ("99999999", "amount")],
)
def test_bad_amounts_are_400_naming_the_field_and_nothing_is_sent(customer_client, wompi, loan, amount, field):
    response = customer_client.post(payments_url(loan), nequi(amount=amount), format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert wompi.calls("POST", "/v1/transactions") == 0
    assert not GatewayTransaction.objects.exists()


def test_more_than_is_owed_is_refused_saying_how_much_is_left(customer_client, wompi, loan):
    owed = sum(row.outstanding for row in instalments(loan))

    response = customer_client.post(payments_url(loan), nequi(amount=str(owed + 1)), format="json")

    assert response.status_code == 400
    assert "left to pay" in " ".join(response.json()["errors"]["amount"])


def test_a_loan_not_yet_disbursed_cannot_be_paid(customer_client, wompi, customer_account):
    loan = apply_loan(policy=issue_policy(customer=customer_account.customer), amount="1000000", tenure_months=3)

    response = customer_client.post(payments_url(loan), nequi(amount="1000"), format="json")

    assert response.status_code == 409
    assert wompi.calls("POST", "/v1/transactions") == 0


def test_a_loan_not_yet_disbursed_is_409_when_the_app_asks_to_pay_what_is_due(customer_client, wompi, customer_account):
    loan = apply_loan(policy=issue_policy(customer=customer_account.customer), amount="1000000", tenure_months=3)

    response = customer_client.post(payments_url(loan), nequi(), format="json")

    assert response.status_code == 409
    assert wompi.calls("POST", "/v1/transactions") == 0


def test_a_second_payment_waits_until_wompi_has_answered_the_first(customer_client, wompi, loan):
    first = started(customer_client, loan)

    again = customer_client.post(payments_url(loan), nequi(), format="json")

    assert again.status_code == 409
    assert "still waiting" in again.json()["detail"]
    assert wompi.calls("POST", "/v1/transactions") == 1
    assert GatewayTransaction.objects.filter(paid_for_id=str(loan.pk)).get() == first


def test_a_bad_method_is_400_and_staff_and_anonymous_callers_are_refused(customer_client, app_client, wompi, loan):
    assert customer_client.post(payments_url(loan), nequi(phone_number="12"), format="json").status_code == 400
    assert app_client.post(payments_url(loan), nequi(), format="json").status_code == 401
    app_client.force_authenticate(UserFactory(role=Role.AGENT))
    assert app_client.post(payments_url(loan), nequi(), format="json").status_code == 403
    assert wompi.calls("POST", "/v1/transactions") == 0


def test_the_schema_documents_paying_a_loan_online(app_client):
    schema = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/v1/loans/{id}/payments/"]
    assert {"get", "post"} <= set(operations)
