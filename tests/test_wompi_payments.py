"""Starting online payments with Wompi and asking Wompi how they ended, against a local Wompi."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal.audit.models import AuditEvent
from portal.gateways.models import GatewayTransaction
from portal.gateways.services import gateway_transaction_refresh, online_payment_start
from portal.payments.models import LedgerEntry, Payment

from .factories import CustomerFactory
from .wompi_server import (
    APPROVING_BANK,
    APPROVING_CARD,
    APPROVING_NEQUI,
    DECLINING_CARD,
    DECLINING_NEQUI,
)

Status = GatewayTransaction.Status
PSE_PAYER = {
    "user_type": 0,
    "user_legal_id_type": "CC",
    "user_legal_id": "1999888777",
    "financial_institution_code": APPROVING_BANK,
    "financial_institution_name": "Banco que aprueba",
    "payment_description": "Prima póliza AUTO",
}


def start(customer, actor, *, method="NEQUI", details=None, amount="45000.00"):
    return online_payment_start(
        customer=customer,
        amount=Decimal(amount),
        currency="COP",
        method=method,
        method_details=details if details is not None else {"phone_number": APPROVING_NEQUI},
        actor=actor,
    )


@pytest.mark.django_db
def test_a_nequi_payment_is_sent_to_wompi_under_a_new_reference_and_stays_pending(wompi, customer, agent):
    attempt = start(customer, agent)

    assert attempt.status == Status.PENDING
    assert attempt.amount_in_cents == 4_500_000
    sent = wompi.transactions[attempt.wompi_id]
    assert sent["reference"] == attempt.reference
    assert sent["payment_method"] == {"type": "NEQUI", "phone_number": APPROVING_NEQUI}
    assert sent["customer_email"] == customer.email_primary
    assert attempt.method_details == {"phone_number": APPROVING_NEQUI}
    assert AuditEvent.objects.filter(action="gateway.payment_started", target_id=str(attempt.pk)).count() == 1


@pytest.mark.django_db
def test_every_attempt_gets_its_own_reference(wompi, customer, agent):
    first, second = start(customer, agent), start(customer, agent)

    assert first.reference != second.reference
    assert len(wompi.transactions) == 2


@pytest.mark.django_db
def test_asking_wompi_after_it_approved_records_the_payment_once(wompi, customer, agent):
    attempt = start(customer, agent)
    wompi.settle(attempt.wompi_id)

    refreshed = gateway_transaction_refresh(gateway_transaction=attempt)
    again = gateway_transaction_refresh(gateway_transaction=refreshed)

    assert again.status == Status.APPROVED
    payment = Payment.objects.get()
    assert again.payment == payment
    assert (payment.amount, payment.currency, payment.method, payment.reference) == (
        Decimal("45000.00"),
        "COP",
        "NEQUI",
        attempt.reference,
    )
    assert payment.source_type == "gateways.gatewaytransaction"
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == 1
    assert AuditEvent.objects.filter(action="gateway.status_changed", target_id=str(attempt.pk)).count() == 1


@pytest.mark.django_db
def test_a_payment_wompi_has_not_settled_stays_pending_when_asked(wompi, customer, agent):
    attempt = gateway_transaction_refresh(gateway_transaction=start(customer, agent))

    assert attempt.status == Status.PENDING
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_declined_nequi_payment_records_no_payment(wompi, customer, agent):
    attempt = start(customer, agent, details={"phone_number": DECLINING_NEQUI})
    wompi.settle(attempt.wompi_id)

    attempt = gateway_transaction_refresh(gateway_transaction=attempt)

    assert attempt.status == Status.DECLINED
    assert attempt.payment is None
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_pse_payment_gets_the_bank_link_wompi_gives_after_creating_it(wompi, customer, finance_user):
    attempt = start(customer, finance_user, method="PSE", details=PSE_PAYER)
    assert attempt.async_payment_url == ""

    attempt = gateway_transaction_refresh(gateway_transaction=attempt)

    assert attempt.async_payment_url == f"{wompi.root}/pse-bank/{attempt.wompi_id}"
    assert attempt.method_details["financial_institution_code"] == APPROVING_BANK
    assert wompi.transactions[attempt.wompi_id]["payment_method"]["user_legal_id"] == "1999888777"


@pytest.mark.django_db
def test_a_card_payment_sends_the_widgets_token_and_never_keeps_it(wompi, customer, agent):
    token = wompi.tokenize_card(APPROVING_CARD)

    attempt = start(customer, agent, method="CARD", details={"token": token, "installments": 3})
    wompi.settle(attempt.wompi_id)
    attempt = gateway_transaction_refresh(gateway_transaction=attempt)

    assert wompi.transactions[attempt.wompi_id]["payment_method"]["installments"] == 3
    assert attempt.method_details == {"installments": 3}
    assert token not in str(GatewayTransaction.objects.values().get(pk=attempt.pk))
    assert attempt.status == Status.APPROVED


@pytest.mark.django_db
def test_a_declining_card_ends_declined(wompi, customer, agent):
    attempt = start(customer, agent, method="CARD", details={"token": wompi.tokenize_card(DECLINING_CARD)})
    wompi.settle(attempt.wompi_id)

    assert gateway_transaction_refresh(gateway_transaction=attempt).status == Status.DECLINED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "details", "field"),
    [
        ("NEQUI", {"phone_number": "12345"}, "phone_number"),
        ("NEQUI", {}, "phone_number"),
        ("CARD", {"token": "4242424242424242"}, "token"),
        ("CARD", {"token": "tok_test_1", "installments": 0}, "installments"),
        ("CARD", {"token": "tok_test_1", "installments": "3"}, "installments"),
        ("PSE", {**PSE_PAYER, "user_type": 7}, "user_type"),
        ("PSE", {**PSE_PAYER, "user_legal_id_type": "XX"}, "user_legal_id_type"),
        ("PSE", {**PSE_PAYER, "user_legal_id": "12-34"}, "user_legal_id"),
        ("PSE", {**PSE_PAYER, "financial_institution_code": "0"}, "financial_institution_code"),
        ("PSE", {**PSE_PAYER, "payment_description": "x" * 31}, "payment_description"),
        ("BITCOIN", {}, "method"),
    ],
)
def test_bad_payment_details_are_refused_before_anything_is_sent(wompi, customer, agent, method, details, field):
    with pytest.raises(ValidationError) as refusal:
        start(customer, agent, method=method, details=details)

    assert field in refusal.value.message_dict
    assert not GatewayTransaction.objects.exists()
    assert wompi.calls("POST", "/v1/transactions") == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "currency"), [("0", "COP"), ("-5", "COP"), ("10.005", "COP"), ("10", "USD")])
def test_bad_amounts_and_currencies_are_refused(wompi, customer, agent, amount, currency):
    with pytest.raises(ValidationError):
        online_payment_start(
            customer=customer,
            amount=amount,
            currency=currency,
            method="NEQUI",
            method_details={"phone_number": APPROVING_NEQUI},
            actor=agent,
        )

    assert not GatewayTransaction.objects.exists()


@pytest.mark.django_db
def test_a_customer_without_email_cannot_pay_online(wompi, agent):
    customer = CustomerFactory(agent=agent, email_primary="")

    with pytest.raises(ValidationError) as refusal:
        start(customer, agent)

    assert "customer" in refusal.value.message_dict
    assert not GatewayTransaction.objects.exists()


@pytest.mark.django_db
def test_when_wompi_cannot_be_reached_nothing_is_saved_or_charged(wompi, customer, agent, settings):
    settings.WOMPI_ATTEMPTS = 2
    wompi.drop_connections(2)

    with pytest.raises(ValidationError):
        start(customer, agent)

    assert not GatewayTransaction.objects.exists()
    assert wompi.transactions == {}


@pytest.mark.django_db
def test_a_refusal_from_wompi_is_shown_and_the_attempt_kept_as_an_error(wompi, customer, agent, settings):
    settings.WOMPI_INTEGRITY_SECRET = "test_integrity_wrong"

    with pytest.raises(ValidationError) as refusal:
        start(customer, agent)

    assert "signature" in " ".join(refusal.value.messages)
    attempt = GatewayTransaction.objects.get()
    assert attempt.status == Status.ERROR
    assert "signature" in attempt.status_message


@pytest.mark.django_db
def test_a_lost_answer_to_the_post_is_recovered_by_reference_without_a_second_charge(wompi, customer, agent, settings):
    settings.WOMPI_READ_TIMEOUT_SECONDS = 0.3
    wompi.delay_answers(0)  # the acceptance tokens answer at once
    wompi.delay_answers(1.0)  # the first POST creates the transaction and answers too late

    attempt = start(customer, agent)

    assert len(wompi.transactions) == 1
    assert attempt.wompi_id == wompi.transaction_with_reference(attempt.reference)["id"]
    assert wompi.calls("POST", "/v1/transactions") == 2


@pytest.mark.django_db
def test_when_no_answer_ever_comes_the_attempt_stays_pending_and_is_found_later(wompi, customer, agent, settings):
    settings.WOMPI_READ_TIMEOUT_SECONDS = 0.3
    settings.WOMPI_ATTEMPTS = 1
    wompi.delay_answers(0)
    wompi.delay_answers(1.0)

    attempt = start(customer, agent)

    assert attempt.status == Status.PENDING
    assert attempt.wompi_id is None
    assert attempt.status_message
    wompi.settle(wompi.transaction_with_reference(attempt.reference)["id"])
    attempt = gateway_transaction_refresh(gateway_transaction=attempt)
    assert attempt.status == Status.APPROVED
    assert attempt.wompi_id is not None
    assert Payment.objects.get().reference == attempt.reference


@pytest.mark.django_db
def test_an_answer_from_wompi_with_another_amount_changes_nothing(wompi, customer, agent):
    attempt = start(customer, agent)
    wompi.transactions[attempt.wompi_id]["amount_in_cents"] = 100
    wompi.settle(attempt.wompi_id)

    with pytest.raises(ValidationError) as refusal:
        gateway_transaction_refresh(gateway_transaction=attempt)

    assert "COP 1.00" in " ".join(refusal.value.messages)
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_asking_wompi_while_it_is_down_says_so_and_changes_nothing(wompi, customer, agent, settings):
    attempt = start(customer, agent)
    settings.WOMPI_ATTEMPTS = 1
    wompi.drop_connections(1)

    with pytest.raises(ValidationError):
        gateway_transaction_refresh(gateway_transaction=attempt)

    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING


@pytest.mark.django_db
def test_an_approved_payment_can_still_be_voided_but_a_decline_after_approval_changes_nothing(wompi, customer, agent):
    attempt = start(customer, agent)
    wompi.settle(attempt.wompi_id)
    attempt = gateway_transaction_refresh(gateway_transaction=attempt)

    wompi.settle(attempt.wompi_id, status="DECLINED")
    assert gateway_transaction_refresh(gateway_transaction=attempt).status == Status.APPROVED

    wompi.settle(attempt.wompi_id, status="VOIDED")
    assert gateway_transaction_refresh(gateway_transaction=attempt).status == Status.VOIDED
    assert Payment.objects.count() == 1
