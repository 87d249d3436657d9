"""Money lent to a customer leaving Amparo: the outgoing transfer and its ledger entries, written together.
Called by the loans domain inside the transaction that completes a loan's disbursement."""

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
