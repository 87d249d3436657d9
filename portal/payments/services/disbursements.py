"""Loan money through the payments ledger: the transfer out when a loan is disbursed, and repayments in.
Called by the loans domain inside its own transactions."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.dates import business_date

from ..models import LedgerEntry, Payment
from .ledger import account_for, ledger_entry, lock_account


def loan_disbursement_record(*, customer, currency, amount, fee, reference, actor, source, as_of=None):
    """Record the transfer of `amount` to the customer (a payment out) and what they now owe: the amount
    lent and the origination `fee`. `reference` is the loan number; `source` the loan itself."""
    account = lock_account(account_for(customer=customer, currency=currency))
    today = business_date(as_of)
    payment = Payment.objects.create(
        account=account,
        direction=Payment.Direction.OUT,
        method=Payment.Method.BANK_TRANSFER,
        amount=amount,
        currency=currency,
        reference=reference,
        received_on=today,
        recorded_by=actor,
        source_type=source._meta.label_lower,
        source_id=str(source.pk),
    )
    ledger_entry(
        account, kind=LedgerEntry.Kind.DISBURSEMENT, amount=amount, posted_on=today, actor=actor, payment=payment
    )
    if fee > 0:
        ledger_entry(
            account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            amount=fee,
            posted_on=today,
            actor=actor,
            # The loan number alone, not a sentence: a stored sentence would keep the writer's language.
            description=reference,
        )
    audit_record(
        actor=actor,
        action="payment.loan_disbursed",
        target=payment,
        metadata={"loan": reference, "amount": str(amount), "fee": str(fee), "currency": currency},
    )
    return payment


def loan_repayment_receive(*, customer, currency, amount, method, reference, actor, source, as_of=None):
    """Record money received on a loan: a payment in, and the ledger credit that lowers what the customer
    owes. It never pays premium instalments (`unallocated_payments` leaves loan repayments out); the
    loans domain allocates it to the loan's own instalments. A reference already recorded is refused.
    `actor` is the member of staff recording cash or a transfer, or None for a payment a gateway
    approved (card, Nequi, PSE), whose reference is the gateway transaction's."""
    if actor is not None and method not in Payment.MANUAL_METHODS:
        raise ValidationError({"method": _("Record cash or a bank transfer.")})
    if actor is None and method not in Payment.GATEWAY_METHODS:
        raise ValidationError({"method": _("Cash and bank transfers are recorded by a member of staff.")})
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter the receipt or transfer reference.")})
    if Payment.objects.filter(direction=Payment.Direction.IN, method=method, reference=reference).exists():
        raise ValidationError({"reference": _("A payment with this reference is recorded already.")})
    account = lock_account(account_for(customer=customer, currency=currency))
    today = business_date(as_of)
    payment = Payment.objects.create(
        account=account,
        direction=Payment.Direction.IN,
        method=method,
        amount=amount,
        currency=currency,
        reference=reference[:64],
        received_on=today,
        recorded_by=actor,
        source_type=source._meta.label_lower,
        source_id=str(source.pk),
    )
    ledger_entry(
        account, kind=LedgerEntry.Kind.PAYMENT_RECEIVED, amount=-amount, posted_on=today, actor=actor, payment=payment
    )
    audit_record(
        actor=actor,
        actor_label=None if actor is not None else "gateway",
        action="payment.loan_repayment_received",
        target=payment,
        metadata={"loan": str(source), "amount": str(amount), "currency": currency, "method": method},
    )
    return payment
