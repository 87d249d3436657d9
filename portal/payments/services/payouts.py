"""Claim payouts, maker-checker: finance prepares, a different finance user (or an administrator) confirms.
The only part of payments that knows claims."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.claims import workflow
from portal.claims.models import Claim
from portal.claims.services import claim_mark_paid
from portal.core.dates import business_date
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value

from ..events import payout_paid_publish
from ..models import (
    ClaimPayout,
    LedgerEntry,
    Payment,
)
from .ledger import account_for, ledger_entry, lock_account


def _require_payout_role(actor):
    refused = workflow.payout_role_refusal(actor)
    if refused:
        raise ValidationError(refused[1])


def _payout_number(today):
    return f"GIRO-{today.year}-{next_sequence_value(key='payout', year=today.year):06d}"


def _lock_payout(payout):
    return (
        ClaimPayout.objects.select_for_update(of=("self",))
        .select_related("claim", "account__customer", "prepared_by")
        .get(pk=payout.pk)
    )


@transaction.atomic
def payout_prepare(*, claim, actor, payee_account, as_of=None):
    """Prepare the payout of an APPROVED claim for its approved amount; another finance user confirms it."""
    _require_payout_role(actor)
    payee_account = (payee_account or "").strip()
    if not payee_account:
        raise ValidationError({"payee_account": _("Enter the bank and account number the money goes to.")})
    claim = Claim.objects.select_for_update(of=("self",)).select_related("customer").get(pk=claim.pk)
    refused = workflow.payout_refusal(claim, actor)
    if refused:
        raise Conflict(refused[1])
    live = ClaimPayout.objects.filter(claim=claim).exclude(status=ClaimPayout.Status.CANCELLED).first()
    if live is not None:
        raise Conflict(
            _("Payout %(number)s is already %(status)s for claim %(claim)s.")
            % {"number": live.number, "status": live.get_status_display().lower(), "claim": claim.number}
        )
    payout = ClaimPayout.objects.create(
        number=_payout_number(business_date(as_of)),
        claim=claim,
        account=account_for(customer=claim.customer, currency=claim.currency),
        amount=claim.approved_amount,
        currency=claim.currency,
        payee_account=payee_account[:120],
        prepared_by=actor,
    )
    audit_record(
        actor=actor,
        action="payout.prepared",
        target=payout,
        metadata={"claim": claim.number, "amount": str(payout.amount), "currency": payout.currency},
    )
    return payout


def payout_actions_available(payout, user):
    """What `user` may do with `payout` now: the same rules the services enforce, for the buttons."""
    may = workflow.payout_role_refusal(user) is None
    prepared = payout.status == ClaimPayout.Status.PREPARED
    return {
        "confirm": may and prepared and payout.prepared_by_id != user.pk,
        "cancel": may and prepared,
    }


@transaction.atomic
def payout_confirm(*, payout, actor, as_of=None):
    """The second finance user confirms a prepared payout: the transfer is recorded as a payment out,
    the ledger gets the claim settled and the money paid out, and the claim becomes PAID, together."""

    _require_payout_role(actor)
    payout = _lock_payout(payout)
    if payout.status != ClaimPayout.Status.PREPARED:
        raise Conflict(
            _("Payout %(number)s is %(status)s; there is nothing to confirm.")
            % {"number": payout.number, "status": payout.get_status_display().lower()}
        )
    if payout.prepared_by_id == actor.pk:
        raise ValidationError(
            _("You prepared payout %(number)s; another finance user must confirm it.") % {"number": payout.number}
        )
    claim = Claim.objects.select_for_update(of=("self",)).get(pk=payout.claim_id)
    if claim.status != Claim.Status.APPROVED or claim.approved_amount != payout.amount:
        raise Conflict(
            _("Claim %(number)s changed after the payout was prepared; cancel it and prepare it again.")
            % {"number": claim.number}
        )
    account = lock_account(payout.account)
    today = business_date(as_of)
    payment = Payment.objects.create(
        account=account,
        direction=Payment.Direction.OUT,
        method=Payment.Method.BANK_TRANSFER,
        amount=payout.amount,
        currency=payout.currency,
        reference=payout.number,
        received_on=today,
        recorded_by=actor,
        source_type=payout._meta.label_lower,
        source_id=str(payout.pk),
    )
    ledger_entry(
        account, kind=LedgerEntry.Kind.CLAIM_PAYOUT, amount=-payout.amount, posted_on=today, actor=actor, payout=payout
    )
    ledger_entry(
        account,
        kind=LedgerEntry.Kind.DISBURSEMENT,
        amount=payout.amount,
        posted_on=today,
        actor=actor,
        payout=payout,
        payment=payment,
    )
    payout.status = ClaimPayout.Status.CONFIRMED
    payout.confirmed_by = actor
    payout.confirmed_at = timezone.now()
    payout.payment = payment
    payout.save(update_fields=["status", "confirmed_by", "confirmed_at", "payment"])
    claim_mark_paid(claim=claim, actor=actor, payout=payout)
    payout_paid_publish(payout, payment=payment, policy_number=claim.policy.number, on=today)
    audit_record(
        actor=actor,
        action="payout.confirmed",
        target=payout,
        metadata={
            "claim": claim.number,
            "amount": str(payout.amount),
            "currency": payout.currency,
            "prepared_by": payout.prepared_by.email_primary,
        },
    )
    return payout


@transaction.atomic
def payout_cancel(*, payout, actor, reason):
    """Withdraw a prepared payout (wrong account, claim to be reviewed); the claim can be prepared again."""
    _require_payout_role(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payout is cancelled.")})
    payout = _lock_payout(payout)
    if payout.status != ClaimPayout.Status.PREPARED:
        raise Conflict(
            _("Payout %(number)s is %(status)s; it cannot be cancelled.")
            % {"number": payout.number, "status": payout.get_status_display().lower()}
        )
    payout.status = ClaimPayout.Status.CANCELLED
    payout.cancelled_by = actor
    payout.cancelled_at = timezone.now()
    payout.cancel_reason = reason[:255]
    payout.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    audit_record(
        actor=actor,
        action="payout.cancelled",
        target=payout,
        metadata={"claim": payout.claim.number, "reason": payout.cancel_reason},
    )
    return payout
