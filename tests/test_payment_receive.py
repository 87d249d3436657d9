"""Receiving a payment: oldest instalment first, what is left stays as credit, one payment per
reference however often it arrives (also from concurrent threads), bad input refused with nothing
written, the receipt emailed exactly once, and a mistaken payment reversed by new entries."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.payments.models import Instalment, LedgerEntry, Payment, PaymentAllocation, Receipt
from portal.payments.services import payment_receive, payment_record, payment_reverse, receipt_deliver
from portal.policies.services import policy_issue, quote_accept, quote_create

from .factories import CustomerFactory
from .helpers import run_together

PREMIUM = Decimal("4569600.00")
MONTHLY = Decimal("380800.00")
# Stands for tomorrow's date in a parameter list, resolved when the test runs.
TOMORROW = object()


def issue(agent, customer, product, *, frequency="MONTHLY", start_date=None):
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=product,
        start_date=start_date or timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=["RC", "PT"],
        payment_frequency=frequency,
    )
    return policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)


def receive(customer, amount, reference="T-1", *, actor, method="BANK_TRANSFER", **extra):
    return payment_receive(
        customer=customer, amount=amount, currency="COP", method=method, reference=reference, actor=actor, **extra
    )


def paid(policy):
    return [i.amount_paid for i in Instalment.objects.filter(policy=policy).order_by("sequence")]


def balance(customer):
    return sum(LedgerEntry.objects.filter(account__customer=customer).values_list("amount", flat=True))


def footprint():
    return (
        Payment.objects.count(),
        PaymentAllocation.objects.count(),
        LedgerEntry.objects.count(),
        Receipt.objects.count(),
        AuditEvent.objects.filter(action="payment.received").count(),
        list(Instalment.objects.order_by("pk").values_list("amount_paid", flat=True)),
    )


# --- allocation -----------------------------------------------------------------------------------------


def test_a_payment_goes_to_the_oldest_open_instalments_first(agent, customer, product, finance_user):
    policy = issue(agent, customer, product)

    payment = receive(customer, MONTHLY * 2 + Decimal("100000.00"), actor=finance_user)

    assert paid(policy)[:4] == [MONTHLY, MONTHLY, Decimal("100000.00"), Decimal("0.00")]
    statuses = list(Instalment.objects.filter(policy=policy).order_by("sequence").values_list("status", flat=True))
    assert statuses[:3] == ["PAID", "PAID", "OPEN"]
    assert [a.amount for a in payment.allocations.order_by("instalment__due_date")] == [
        MONTHLY,
        MONTHLY,
        Decimal("100000.00"),
    ]


def test_the_oldest_due_comes_first_across_the_customers_policies(agent, customer, product, finance_user):
    today = timezone.localdate()
    later = issue(agent, customer, product, frequency="ANNUAL", start_date=today + timedelta(days=20))
    sooner = issue(agent, customer, product, frequency="ANNUAL", start_date=today)

    receive(customer, PREMIUM, actor=finance_user)

    assert paid(sooner) == [PREMIUM]
    assert paid(later) == [Decimal("0.00")]


def test_what_is_left_after_every_open_instalment_stays_as_credit(agent, customer, product, finance_user):
    policy = issue(agent, customer, product, frequency="ANNUAL")

    payment = receive(customer, PREMIUM + Decimal("250000.00"), actor=finance_user)

    assert paid(policy) == [PREMIUM]
    assert sum(a.amount for a in payment.allocations.all()) == PREMIUM
    assert balance(customer) == Decimal("-250000.00")
    event = AuditEvent.objects.get(action="payment.received")
    assert event.metadata["credit_left"] == "250000.00"


def test_a_payment_with_nothing_open_is_all_credit_and_posts_one_entry(customer, finance_user):
    payment = receive(customer, "90000", actor=finance_user)

    assert not payment.allocations.exists()
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.payment, entry.posted_on) == (
        LedgerEntry.Kind.PAYMENT_RECEIVED,
        Decimal("-90000.00"),
        payment,
        timezone.localdate(),
    )


def test_a_payment_in_another_currency_pays_nothing_of_a_peso_policy(agent, customer, product, finance_user):
    policy = issue(agent, customer, product, frequency="ANNUAL")

    payment = payment_receive(
        customer=customer, amount="100", currency="USD", method="CASH", reference="USD-1", actor=finance_user
    )

    assert payment.account.currency == "USD"
    assert paid(policy) == [Decimal("0.00")]


# --- idempotency ---------------------------------------------------------------------------------------------


def test_the_same_reference_again_returns_the_first_payment_unchanged(agent, customer, product, finance_user):
    issue(agent, customer, product)
    first = receive(customer, MONTHLY, "TRX-77", actor=None, method="PSE")
    before = footprint()

    again = receive(customer, MONTHLY * 3, "TRX-77", actor=None, method="PSE")

    assert again == first
    assert again.amount == MONTHLY
    assert footprint() == before


def test_the_same_reference_by_another_method_is_another_payment(customer, finance_user):
    receive(customer, "1000", "123", actor=None, method="NEQUI")
    receive(customer, "1000", "123", actor=finance_user, method="CASH")

    assert Payment.objects.count() == 2


def test_a_reference_already_used_for_another_customer_is_refused(customer, finance_user):
    receive(customer, "1000", "SHARED", actor=finance_user)
    before = footprint()

    with pytest.raises(ValidationError) as refused:
        receive(CustomerFactory(), "1000", "SHARED", actor=finance_user)

    assert "another customer" in refused.value.message_dict["reference"][0]
    assert footprint() == before


def test_recording_a_reference_twice_by_hand_says_when_it_was_recorded(customer, finance_user):
    payment = receive(customer, "125000", "CASH-9", actor=finance_user, method="CASH")

    with pytest.raises(ValidationError) as refused:
        payment_record(account=payment.account, amount="125000", method="CASH", reference="CASH-9", actor=finance_user)

    assert "already recorded" in refused.value.message_dict["reference"][0]
    assert "125,000.00" in refused.value.message_dict["reference"][0]
    assert Payment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_threads_delivering_the_same_gateway_payment_record_it_once(agent, customer, product):
    policy = issue(agent, customer, product)

    results, errors = run_together(
        lambda _: receive(customer, MONTHLY, "WOMPI-1", actor=None, method="CARD"), range(10)
    )

    assert errors == []
    assert len({payment.pk for payment in results}) == 1
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == 1
    assert Receipt.objects.count() == 1
    assert paid(policy)[:2] == [MONTHLY, Decimal("0.00")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_of_one_customer_never_pay_an_instalment_twice(agent, customer, product):
    policy = issue(agent, customer, product)
    references = iter(range(100))
    lock = threading.Lock()

    def pay(_):
        with lock:
            reference = f"P-{next(references)}"
        return receive(customer, MONTHLY, reference, actor=None, method="NEQUI")

    _payments, errors = run_together(pay, range(6))

    assert errors == []
    assert paid(policy)[:7] == [MONTHLY] * 6 + [Decimal("0.00")]
    assert PaymentAllocation.objects.count() == 6
    assert balance(customer) == PREMIUM - MONTHLY * 6


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1e30"}, "amount"),
        ({"amount": None}, "amount"),
        ({"reference": "  "}, "reference"),
        ({"reference": "x" * 65}, "reference"),
        ({"reference": 123}, "reference"),
        ({"currency": "XYZ"}, "currency"),
        ({"method": "CHEQUE"}, "method"),
        ({"method": "CARD"}, "method"),
        ({"received_on": TOMORROW}, "received_on"),
        ({"customer": None}, "customer"),
    ],
)
def test_bad_input_is_refused_with_a_message_on_its_field_and_nothing_is_written(
    agent, customer, product, finance_user, changes, field
):
    issue(agent, customer, product)
    arguments = {
        "customer": customer,
        "amount": "1000",
        "currency": "COP",
        "method": "CASH",
        "reference": "R-1",
        "actor": finance_user,
        **changes,
    }
    if arguments.get("received_on") is TOMORROW:
        # Dated when the test runs, not when it was collected (a run may cross midnight).
        arguments["received_on"] = timezone.localdate() + timedelta(days=1)
    before = footprint()

    with pytest.raises(ValidationError) as refused:
        payment_receive(**arguments)

    assert field in refused.value.message_dict
    assert footprint() == before


def test_a_gateway_payment_must_come_by_card_nequi_or_pse(customer):
    with pytest.raises(ValidationError) as refused:
        receive(customer, "1000", actor=None, method="CASH")

    assert "method" in refused.value.message_dict


# --- receipts ----------------------------------------------------------------------------------------------------


def test_the_receipt_is_emailed_once_with_its_pdf_after_the_payment_commits(
    agent, customer, product, finance_user, django_capture_on_commit_callbacks
):
    issue(agent, customer, product)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payment = receive(customer, MONTHLY, actor=finance_user)
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    receipt = Receipt.objects.get(payment=payment)
    assert message.to == [customer.email_primary]
    assert receipt.number in message.subject
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == (f"{receipt.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert receipt.sent_at is not None
    assert AuditEvent.objects.filter(action="payment.receipt_sent", target_id=str(payment.pk)).count() == 1


def test_delivering_a_receipt_again_sends_nothing(customer, finance_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment = receive(customer, "1000", actor=finance_user)

    assert receipt_deliver(receipt_id=payment.receipt.pk) is False
    with django_capture_on_commit_callbacks(execute=True):
        receive(customer, "1000", actor=finance_user)

    assert len(mail.outbox) == 1


def test_receipt_numbers_follow_each_other(customer, finance_user):
    first = receive(customer, "1000", "A", actor=finance_user)
    second = receive(customer, "1000", "B", actor=finance_user)

    year = timezone.localdate().year
    assert (first.receipt.number, second.receipt.number) == (f"REC-{year}-000001", f"REC-{year}-000002")


def test_a_customer_without_email_gets_a_receipt_but_no_email(finance_user, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email_primary="")

    with django_capture_on_commit_callbacks(execute=True):
        payment = receive(customer, "1000", actor=finance_user)

    assert payment.receipt.email == ""
    assert mail.outbox == []


# --- reversal ------------------------------------------------------------------------------------------------------


def test_reversing_a_payment_reopens_its_instalments_and_charges_the_amount_back(
    agent, customer, product, finance_user
):
    policy = issue(agent, customer, product)
    payment = receive(customer, MONTHLY * 2, actor=finance_user)

    payment_reverse(payment=payment, actor=finance_user, reason="Entered on the wrong customer")

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    assert payment.reversed_by == finance_user
    assert paid(policy)[:2] == [Decimal("0.00")] * 2
    assert set(Instalment.objects.values_list("status", flat=True)) == {"OPEN"}
    correction = LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT, payment=payment)
    assert correction.amount == MONTHLY * 2
    assert correction.description == "Entered on the wrong customer"
    assert balance(customer) == PREMIUM
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == 1


def test_a_reversal_needs_a_reason_and_happens_once(customer, finance_user):
    from portal.core.exceptions import Conflict

    payment = receive(customer, "1000", actor=finance_user)
    with pytest.raises(ValidationError) as refused:
        payment_reverse(payment=payment, actor=finance_user, reason=" ")
    assert "reason" in refused.value.message_dict

    payment_reverse(payment=payment, actor=finance_user, reason="Duplicate")
    with pytest.raises(Conflict):
        payment_reverse(payment=payment, actor=finance_user, reason="Again")

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).count() == 1


def test_a_gateway_payment_is_not_reversed_here(customer, finance_user):
    payment = receive(customer, "1000", actor=None, method="PSE")

    with pytest.raises(ValidationError):
        payment_reverse(payment=payment, actor=finance_user, reason="Chargeback")

    payment.refresh_from_db()
    assert payment.status == Payment.Status.CONFIRMED


def test_credit_from_another_payment_fills_the_instalments_a_reversal_reopens(agent, customer, product, finance_user):
    policy = issue(agent, customer, product, frequency="ANNUAL")
    mistaken = receive(customer, PREMIUM, "WRONG", actor=finance_user)
    receive(customer, Decimal("1000000.00"), "SECOND", actor=finance_user)

    payment_reverse(payment=mistaken, actor=finance_user, reason="Bounced")

    assert paid(policy) == [Decimal("1000000.00")]
