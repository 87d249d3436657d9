"""The customer's payments in the app: their payments and receipts, online payments started through the
portal's Wompi service against the local Wompi (card token, Nequi, PSE), and an attempt's status that only
Wompi's word changes: the app reads it and cannot approve it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.gateways.models import GatewayTransaction
from portal.gateways.services import gateway_transaction_refresh, online_payment_start
from portal.payments.models import LedgerAccount, Payment
from portal.payments.services import payment_record

from ..wompi_server import APPROVING_BANK, APPROVING_CARD, APPROVING_NEQUI, running_wompi

PAYMENTS = "/api/v1/payments/"
ATTEMPTS = "/api/v1/payments/attempts/"
BANKS = "/api/v1/payments/pse-banks/"
Status = GatewayTransaction.Status
PSE = {
    "method": "PSE",
    "amount": "80000.00",
    "user_type": 0,
    "user_legal_id_type": "CC",
    "user_legal_id": "1999888777",
    "financial_institution_code": APPROVING_BANK,
    "payment_description": "Prima poliza AUTO",
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def wompi(settings):
    with running_wompi(settings) as server:
        yield server


def nequi(**changes):
    return {"method": "NEQUI", "amount": "45000.00", "phone_number": APPROVING_NEQUI, **changes}


def pay_by_transfer(customer, amount, reference):
    account = LedgerAccount.objects.get(customer=customer)
    return payment_record(
        account=account, amount=amount, method="BANK_TRANSFER", reference=reference, actor=customer.agent
    )


# --- starting a payment -----------------------------------------------------------------------------------------


def test_a_nequi_payment_is_started_with_wompi_and_stays_pending(wompi, as_customer, policyholder):
    response = as_customer(policyholder.user).post(PAYMENTS, nequi())

    assert response.status_code == 201, response.json()
    attempt = GatewayTransaction.objects.get()
    assert (attempt.customer, attempt.created_by, attempt.method, attempt.status) == (
        policyholder,
        policyholder.user,
        "NEQUI",
        Status.PENDING,
    )
    body = response.json()
    assert (body["id"], body["reference"], body["status"], body["amount"]) == (
        attempt.pk,
        attempt.reference,
        "PENDING",
        "45000.00",
    )
    assert response["Location"] == f"{ATTEMPTS}{attempt.pk}/"
    assert wompi.calls("POST", "/v1/transactions") == 1


def test_a_card_payment_sends_the_widgets_token_and_never_keeps_it(wompi, as_customer, policyholder):
    token = wompi.tokenize_card(APPROVING_CARD)

    response = as_customer(policyholder.user).post(
        PAYMENTS, {"method": "CARD", "amount": "120000", "token": token, "installments": 3}
    )

    assert response.status_code == 201, response.json()
    attempt = GatewayTransaction.objects.get()
    assert attempt.method_details == {"installments": 3}
    assert token not in str(attempt.method_details) and token not in response.content.decode()


def test_a_pse_payment_is_started_with_the_payers_bank_and_id(wompi, as_customer, policyholder):
    response = as_customer(policyholder.user).post(PAYMENTS, PSE)

    assert response.status_code == 201, response.json()
    attempt = GatewayTransaction.objects.get()
    assert attempt.method == "PSE"
    assert attempt.method_details["financial_institution_code"] == APPROVING_BANK
    assert attempt.method_details["user_legal_id"] == "1999888777"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"amount": "45000"}, "method", id="no method"),
        pytest.param(nequi(method="EFECTIVO"), "method", id="not an online method"),
        pytest.param(nequi(phone_number="12345"), "phone_number", id="not a Nequi number"),
        pytest.param({"method": "CARD", "amount": "1000"}, "token", id="card without token"),
        pytest.param({"method": "CARD", "amount": "1000", "token": "4242424242424242"}, "token", id="a card number"),
        pytest.param({**PSE, "financial_institution_code": ""}, "financial_institution_code", id="PSE without bank"),
        pytest.param({**PSE, "user_legal_id_type": "XX"}, "user_legal_id_type", id="PSE bad ID type"),
        pytest.param(nequi(amount="0"), "amount", id="zero"),
        pytest.param(nequi(amount="10.005"), "amount", id="three decimals"),
        pytest.param(nequi(currency="USD"), "currency", id="not pesos"),
    ],
)
def test_bad_payment_input_is_refused_with_field_errors_and_nothing_is_sent(
    wompi, as_customer, policyholder, body, field
):
    response = as_customer(policyholder.user).post(PAYMENTS, body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not GatewayTransaction.objects.exists()
    assert wompi.calls("POST", "/v1/transactions") == 0


def test_the_customer_and_status_in_the_request_are_ignored(wompi, as_customer, policyholder, other_policyholder):
    response = as_customer(policyholder.user).post(
        PAYMENTS, nequi(status="APPROVED", customer=other_policyholder.pk, reference="AMP-MINE")
    )

    assert response.status_code == 201
    attempt = GatewayTransaction.objects.get()
    assert (attempt.customer, attempt.status) == (policyholder, Status.PENDING)
    assert attempt.reference != "AMP-MINE"


def test_when_wompi_cannot_be_reached_nothing_is_charged_and_the_app_may_retry(wompi, as_customer, policyholder):
    wompi.stop()

    response = as_customer(policyholder.user).post(PAYMENTS, nequi())

    assert response.status_code == 503
    assert "Wompi" in response.json()["detail"]
    assert not GatewayTransaction.objects.exists()


# --- the app reads the status, never writes it --------------------------------------------------------------------


def test_the_app_cannot_approve_an_attempt(wompi, app_client, as_customer, policyholder):
    caller = as_customer(policyholder.user)
    attempt_id = caller.post(PAYMENTS, nequi()).json()["id"]
    path = f"{ATTEMPTS}{attempt_id}/"
    wompi.settle(GatewayTransaction.objects.get().wompi_id)

    assert caller.post(path, {"status": "APPROVED"}).status_code == 405
    for method in ("put", "patch", "delete"):
        answer = getattr(app_client, method)(path, {"status": "APPROVED"}, format="json", **caller.auth)
        assert answer.status_code == 405
    # Wompi approved it, but until its event or its own answer arrives the attempt is what Wompi last said.
    assert caller.get(path).json()["status"] == "PENDING"
    assert not Payment.objects.exists()

    gateway_transaction_refresh(gateway_transaction=GatewayTransaction.objects.get())

    body = caller.get(path).json()
    assert body["status"] == "APPROVED" and body["payment"] == Payment.objects.get().pk


def test_an_approved_online_payment_appears_with_its_receipt(wompi, as_customer, policyholder):
    caller = as_customer(policyholder.user)
    caller.post(PAYMENTS, nequi())
    attempt = GatewayTransaction.objects.get()
    wompi.settle(attempt.wompi_id)
    gateway_transaction_refresh(gateway_transaction=attempt)

    [row] = caller.get(PAYMENTS).json()["results"]

    payment = Payment.objects.get()
    assert (row["id"], row["method"], row["amount"]) == (payment.pk, "NEQUI", "45000.00")
    assert row["receipt_number"] == payment.receipt.number
    receipt = caller.get(f"{PAYMENTS}{payment.pk}/receipt/")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")


# --- reading ---------------------------------------------------------------------------------------------------


def test_another_customers_payments_and_attempts_are_not_found(wompi, as_customer, policyholder, other_policyholder):
    theirs = pay_by_transfer(other_policyholder, "1000", "TRF-OTRO")
    attempt = online_payment_start(
        customer=other_policyholder,
        amount="1000",
        currency="COP",
        method="NEQUI",
        method_details={"phone_number": APPROVING_NEQUI},
        actor=other_policyholder.user,
    )
    caller = as_customer(policyholder.user)

    assert caller.get(PAYMENTS).json()["results"] == []
    assert caller.get(ATTEMPTS).json()["results"] == []
    assert caller.get(f"{PAYMENTS}{theirs.pk}/receipt/").status_code == 404
    assert caller.get(f"{ATTEMPTS}{attempt.pk}/").status_code == 404


def test_the_payments_list_reads_a_constant_number_of_queries(as_customer, policyholder):
    caller = as_customer(policyholder.user)
    pay_by_transfer(policyholder, "1000", "TRF-0")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(PAYMENTS).status_code == 200
        return len(captured)

    few = queries()
    for n in range(1, 5):
        pay_by_transfer(policyholder, "1000", f"TRF-{n}")

    assert queries() == few
    assert len(caller.get(PAYMENTS).json()["results"]) == 5


def test_the_pse_banks_are_wompis(wompi, as_customer, policyholder):
    body = as_customer(policyholder.user).get(BANKS).json()

    assert [bank["code"] for bank in body["results"]] == [APPROVING_BANK, "2"]


def test_the_pse_banks_say_when_wompi_is_down(wompi, as_customer, policyholder):
    wompi.stop()

    response = as_customer(policyholder.user).get(BANKS)

    assert response.status_code == 503
    assert "Wompi" in response.json()["detail"]


def test_staff_and_anonymous_callers_are_refused(as_customer, app_client, agent):
    for path in (PAYMENTS, ATTEMPTS, BANKS):
        assert as_customer(agent).get(path).status_code == 403
        assert app_client.get(path).status_code == 401
    assert as_customer(agent).post(PAYMENTS, nequi()).status_code == 403


def test_a_retried_payment_with_the_same_idempotency_key_charges_once(wompi, as_customer, policyholder):
    caller = as_customer(policyholder.user)

    first = caller.post(PAYMENTS, nequi(), HTTP_IDEMPOTENCY_KEY="pay-7f3e")
    again = caller.post(PAYMENTS, nequi(), HTTP_IDEMPOTENCY_KEY="pay-7f3e")
    other = caller.post(PAYMENTS, nequi(amount="1000"), HTTP_IDEMPOTENCY_KEY="pay-7f3e")

    assert first.status_code == again.status_code == 201
    assert again.json()["reference"] == first.json()["reference"] and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert GatewayTransaction.objects.count() == 1
    assert wompi.calls("POST", "/v1/transactions") == 1


def test_the_schema_documents_the_payments_endpoints(app_client):
    paths = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    assert {"201", "400", "401", "403", "409", "422"} <= set(paths["/api/v1/payments/"]["post"]["responses"])
    assert "application/pdf" in paths["/api/v1/payments/{id}/receipt/"]["get"]["responses"]["200"]["content"]
    assert {"404"} <= set(paths["/api/v1/payments/attempts/{id}/"]["get"]["responses"])
    assert set(paths["/api/v1/payments/attempts/{id}/"]) == {"get"}
    assert "503" in paths["/api/v1/payments/pse-banks/"]["get"]["responses"]
