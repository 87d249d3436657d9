"""The ledger: one account per customer and currency, append-only entries, and money received applied
to the oldest open instalments first. Whatever changes an account's instalments or entries locks the
account's row first (after the policy's, when a policy changes), so they happen one at a time."""

from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from portal.core.dates import business_date
from portal.core.money import ZERO

from ..events import premium_collected_publish
from ..models import (
    Instalment,
    LedgerAccount,
    LedgerEntry,
    Payment,
    PaymentAllocation,
)


def account_for(*, customer, currency):
    """The customer's account in `currency`, opened the first time it is needed (safe when two open it at once)."""
    account, _created = LedgerAccount.objects.get_or_create(customer=customer, currency=currency)
    return account


def lock_account(account):
    return LedgerAccount.objects.select_for_update(of=("self",)).select_related("customer").get(pk=account.pk)


def ledger_entry(account, *, kind, amount, posted_on, actor=None, **links):
    return LedgerEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        currency=account.currency,
        posted_on=posted_on,
        created_by=actor if actor is not None and actor.pk else None,
        **links,
    )


def unallocated_payments(account):
    """Confirmed payments on `account` with money not yet applied to an instalment, oldest first."""
    return (
        Payment.objects.filter(account=account, direction=Payment.Direction.IN, status=Payment.Status.CONFIRMED)
        # A loan repayment pays the loan's instalments (portal.loans), never premiums.
        .exclude(source_type="loans.loan")
        .annotate(allocated=Coalesce(Sum("allocations__amount"), ZERO))
        .filter(amount__gt=F("allocated"))
        .order_by("received_on", "id")
    )


def allocate(payment, *, amount, account, made=None):
    """Apply `amount` of `payment` to the account's open instalments, oldest due first; returns what is
    left. The allocations written are appended to `made` when given."""
    remaining = amount
    open_instalments = (
        Instalment.objects.select_for_update()
        .filter(account=account, status=Instalment.Status.OPEN)
        .order_by("due_date", "policy_id", "sequence")
    )
    for instalment in open_instalments:
        if remaining <= 0:
            break
        part = min(remaining, instalment.outstanding)
        instalment.amount_paid += part
        if instalment.amount_paid == instalment.amount:
            instalment.status = Instalment.Status.PAID
        instalment.save(update_fields=["amount_paid", "status", "updated_at"])
        allocation = PaymentAllocation.objects.create(payment=payment, instalment=instalment, amount=part)
        if made is not None:
            made.append(allocation)
        remaining -= part
    return remaining


def apply_credit(account):
    """Money already received and not yet applied pays the account's open instalments (after a schedule
    is created or grows, or a payment is reversed); the core learns of the premium so collected."""
    today = business_date()
    for payment in unallocated_payments(account).select_related("receipt"):
        made = []
        left = allocate(payment, amount=payment.amount - payment.allocated, account=account, made=made)
        premium_collected_publish(payment, made, on=today)
        if left > 0:
            return
