"""Money received: cash and transfers typed by staff, gateway payments, and reversals of mistakes."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.dates import business_date
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.core.money import CENT, CURRENCIES, format_money
from portal.core.tasks import enqueue_on_commit
from portal.customers.models import Customer

from ..events import premium_collected_publish
from ..models import (
    Instalment,
    LedgerEntry,
    Payment,
    Receipt,
)
from .ledger import account_for, allocate, apply_credit, ledger_entry, lock_account

MAX_AMOUNT = Decimal("99999999999999.99")


def _clean_amount(amount):
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, TypeError, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise ValidationError({"amount": _("Enter the amount as a number, e.g. 150000.00.")})
    if value <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    if value > MAX_AMOUNT:
        raise ValidationError({"amount": _("That amount is too large to be a payment.")})
    if value != value.quantize(CENT):
        raise ValidationError({"amount": _("The amount has at most two decimals (cents).")})
    return value.quantize(CENT)


def _clean_reference(reference):
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not reference:
        raise ValidationError({"reference": _("Enter the payment's reference (receipt number or bank reference).")})
    if len(reference) > 64:
        raise ValidationError({"reference": _("A reference has at most 64 characters.")})
    return reference


def _check_payment_inputs(*, customer, currency, method, actor, received_on, today):
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer who paid.")})
    if currency not in dict(CURRENCIES):
        raise ValidationError({"currency": _("Choose the currency of the payment.")})
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Choose how the customer paid.")})
    if actor is not None and method not in Payment.MANUAL_METHODS:
        raise ValidationError(
            {"method": _("Staff record cash and bank transfers; card, Nequi and PSE payments come from the gateway.")}
        )
    if actor is None and method not in Payment.GATEWAY_METHODS:
        raise ValidationError({"method": _("Cash and bank transfers are recorded by a member of staff.")})
    if received_on > today:
        raise ValidationError({"received_on": _("A payment cannot be dated in the future.")})


def _receipt_number(today):
    return f"REC-{today.year}-{next_sequence_value(key='receipt', year=today.year):06d}"


def _existing_payment(*, method, reference, account):
    """The payment already recorded under (method, reference): the same one for this account, refused for another."""
    existing = Payment.objects.filter(direction=Payment.Direction.IN, method=method, reference=reference).first()
    if existing is not None and existing.account_id != account.pk:
        raise ValidationError(
            {
                "reference": _("Reference %(reference)s is already recorded for another customer's payment.")
                % {"reference": reference}
            }
        )
    return existing


def _payment_receive(*, customer, amount, currency, method, reference, actor, received_on, source):
    """(payment, created): the payment recorded now, or the one already recorded under this reference."""
    today = business_date()
    amount, reference = _clean_amount(amount), _clean_reference(reference)
    received_on = received_on or today
    _check_payment_inputs(
        customer=customer, currency=currency, method=method, actor=actor, received_on=received_on, today=today
    )
    account = lock_account(account_for(customer=customer, currency=currency))
    existing = _existing_payment(method=method, reference=reference, account=account)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                account=account,
                method=method,
                amount=amount,
                currency=currency,
                reference=reference,
                received_on=received_on,
                recorded_by=actor,
                source_type=source._meta.label_lower if source is not None else "",
                source_id=str(source.pk) if source is not None else "",
            )
    except IntegrityError:
        # Another customer's payment took this reference between our look and our insert.
        return _existing_payment(method=method, reference=reference, account=account), False
    allocations = []
    credit = allocate(payment, amount=amount, account=account, made=allocations)
    ledger_entry(
        account,
        kind=LedgerEntry.Kind.PAYMENT_RECEIVED,
        amount=-amount,
        posted_on=received_on,
        actor=actor,
        payment=payment,
    )
    receipt = Receipt.objects.create(payment=payment, number=_receipt_number(today), email=customer.email_primary)
    premium_collected_publish(payment, allocations, on=today)
    audit_record(
        actor=actor,
        actor_label=None if actor is not None else "gateway",
        action="payment.received",
        target=payment,
        metadata={
            "customer": customer.pk,
            "amount": str(amount),
            "currency": currency,
            "method": method,
            "reference": reference,
            "received_on": received_on.isoformat(),
            "credit_left": str(credit),
            "receipt": receipt.number,
            "source": f"{payment.source_type}:{payment.source_id}" if source is not None else "",
        },
    )
    enqueue_on_commit("portal.payments.tasks.receipt_send", receipt_id=receipt.pk)
    return payment, True


@transaction.atomic
def payment_receive(*, customer, amount, currency, method, reference, actor, received_on=None, source=None):
    """Record money received from `customer` and apply it to their open instalments, oldest due first;
    what is left stays on the account as credit. Issues the receipt, emailed once after commit.

    Idempotent on (method, reference): the same reference again returns the first payment unchanged.
    `actor` is the member of staff recording cash or a bank transfer, or None for a payment a
    gateway confirmed (card, Nequi, PSE), with `source` the gateway's transaction.
    """
    payment, _created = _payment_receive(
        customer=customer,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        actor=actor,
        received_on=received_on,
        source=source,
    )
    return payment


@transaction.atomic
def payment_record(*, account, amount, method, reference, actor, received_on=None):
    """A payment typed in by staff (cash or bank transfer) on `account`; a reference already recorded is
    refused with what it was, so one payment is never entered twice."""
    payment, created = _payment_receive(
        customer=account.customer,
        amount=amount,
        currency=account.currency,
        method=method,
        reference=reference,
        actor=actor,
        received_on=received_on,
        source=None,
    )
    if not created:
        # Checked after the account lock, so two people typing the same payment at once get one
        # payment and one refusal, never two "recorded".
        raise ValidationError(
            {
                "reference": _("Reference %(reference)s was already recorded on %(day)s for %(amount)s.")
                % {
                    "reference": payment.reference,
                    "day": date_format(payment.received_on, "SHORT_DATE_FORMAT"),
                    "amount": format_money(payment.amount, payment.currency),
                }
            }
        )
    return payment


CONFLICT, NOT_HERE = "conflict", "not_here"


def payment_reverse_refusal(payment):
    """Why `payment` cannot be reversed here, as (kind, message), or None when it can: what the service
    refuses and the payment page asks before it offers the button."""
    if payment.direction != Payment.Direction.IN or payment.status != Payment.Status.CONFIRMED:
        status = payment.get_status_display().lower()
        return CONFLICT, _("This payment is %(status)s; it cannot be reversed.") % {"status": status}
    if payment.method not in Payment.MANUAL_METHODS:
        return NOT_HERE, _("Card, Nequi and PSE payments are reversed through the gateway, not here.")
    return None


@transaction.atomic
def payment_reverse(*, payment, actor, reason):
    """Undo a payment recorded by mistake (or a transfer the bank returned): its instalments are open
    again and an ADJUSTMENT entry charges the amount back. Nothing is deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payment is reversed: it is kept with the entry.")})
    account = lock_account(payment.account)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    refused = payment_reverse_refusal(payment)
    if refused:
        kind, message = refused
        raise Conflict(message) if kind == CONFLICT else ValidationError(message)
    for allocation in payment.allocations.select_related("instalment"):
        instalment = Instalment.objects.select_for_update().get(pk=allocation.instalment_id)
        instalment.amount_paid -= allocation.amount
        instalment.status = Instalment.Status.OPEN
        instalment.save(update_fields=["amount_paid", "status", "updated_at"])
    today = business_date()
    payment.status = Payment.Status.REVERSED
    payment.reversed_by = actor
    payment.reversed_at = timezone.now()
    payment.reversal_reason = reason[:255]
    payment.save(update_fields=["status", "reversed_by", "reversed_at", "reversal_reason"])
    ledger_entry(
        account,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=payment.amount,
        posted_on=today,
        actor=actor,
        payment=payment,
        description=payment.reversal_reason,
    )
    audit_record(
        actor=actor,
        action="payment.reversed",
        target=payment,
        metadata={"amount": str(payment.amount), "currency": payment.currency, "reason": payment.reversal_reason},
    )
    apply_credit(account)
    return payment


def payment_core_reference_record(*, payment_id, reference):
    """Keep the insurer's core's id for the payment the first time it acknowledges it (one conditional
    UPDATE: later acknowledgements change nothing). Returns whether it was recorded now."""
    return bool(Payment.objects.filter(pk=payment_id, core_reference="").update(core_reference=str(reference)[:64]))
