"""How an online payment ended, on Wompi's word only: a transaction's status moves forward under a row
lock (PENDING → APPROVED | DECLINED | VOIDED | ERROR, APPROVED → VOIDED), and an approval records the
payment through payments' own service. Shared by the event worker (gateways/apply.py) and "Ask Wompi now"."""

import logging
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core import payment_targets
from portal.core.money import format_money
from portal.payments.services import payment_receive

from .. import events
from ..models import GatewayTransaction, WebhookEvent
from ..wompi import WompiClient, WompiRefused, WompiServerError, WompiUnavailable

logger = logging.getLogger(__name__)
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status

NEXT_STATUSES = {
    Status.PENDING: {Status.APPROVED, Status.DECLINED, Status.VOIDED, Status.ERROR},
    Status.APPROVED: {Status.VOIDED},
}


def async_payment_url(data):
    extra = (data.get("payment_method") or {}).get("extra") if isinstance(data.get("payment_method"), dict) else None
    url = extra.get("async_payment_url") if isinstance(extra, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


def received_on(moment):
    return min(timezone.localdate(moment), timezone.localdate())


def record_payment(attempt, *, on):
    """The ledger side of an approval: (payment, None), or (None, why) when the payments service refuses
    it. The payment goes to the customer's premium account (payment_receive), or to the registered
    target the attempt was started for (a loan); either runs in a savepoint of its own, so a refusal
    leaves nothing of it behind."""
    try:
        if attempt.paid_for_type:
            with transaction.atomic():
                payment = payment_targets.target_for(attempt.paid_for_type).receive(
                    target_id=attempt.paid_for_id,
                    customer=attempt.customer,
                    amount=attempt.amount,
                    currency=attempt.currency,
                    method=attempt.method,
                    reference=attempt.reference,
                    source=attempt,
                    received_on=on,
                )
        else:
            payment = payment_receive(
                customer=attempt.customer,
                amount=attempt.amount,
                currency=attempt.currency,
                method=attempt.method,
                reference=attempt.reference,
                actor=None,
                received_on=on,
                source=attempt,
            )
    except ValidationError as refusal:
        message = "; ".join(refusal.messages)
        audit_record(
            actor=None,
            action="gateway.payment_not_recorded",
            target=attempt,
            metadata={"reason": message, "amount": str(attempt.amount), "currency": attempt.currency},
        )
        return None, message
    return payment, None


def transition_refusal(attempt, to):
    """Why `attempt` cannot move to status `to`, or '' when that is a step forward."""
    before = attempt.status
    labels = dict(GatewayTransaction.Status.choices)
    if to == before:
        return _("The transaction is already %(status)s.") % {"status": labels.get(before, before)}
    if to not in NEXT_STATUSES.get(before, set()):
        return _("%(to)s cannot follow %(from)s; the transaction stays %(from)s.") % {
            "to": labels.get(to, to),
            "from": labels.get(before, before),
        }
    return ""


def move(attempt, *, to, wompi_id, message, source, on):
    """Move a locked attempt forward to the status Wompi reported (the caller checked it is a step
    forward). On approval the payment is recorded with it; the payments service's refusal, or ''."""
    before = attempt.status
    attempt.status = to
    attempt.status_changed_at = timezone.now()
    attempt.wompi_id = attempt.wompi_id or wompi_id
    attempt.status_message = (message or "")[:255]
    audit_record(
        actor=None,
        action="gateway.status_changed",
        target=attempt,
        metadata={"from": before, "to": to, "source": source, "wompi_id": attempt.wompi_id},
    )
    # The payment comes last: recording it takes the receipt number, whose row lock every approval
    # waits for until this transaction commits.
    refusal = None
    if to == Status.APPROVED:
        attempt.payment, refusal = record_payment(attempt, on=on)
    attempt.save(update_fields=["status", "status_changed_at", "wompi_id", "status_message", "payment", "updated_at"])
    return refusal or ""


def mismatch(attempt, *, wompi_id, amount_in_cents, currency, reference):
    """Why a transaction Wompi reports (its id, amount, currency and our reference) cannot be `attempt`, or ''."""
    if amount_in_cents != attempt.amount_in_cents or currency != attempt.currency:
        return _("Wompi reports %(reported)s for %(reference)s, but %(expected)s was asked.") % {
            "reported": format_money(Decimal(amount_in_cents) / 100, currency),
            "reference": attempt.reference,
            "expected": format_money(attempt.amount, attempt.currency),
        }
    if attempt.wompi_id and attempt.wompi_id != wompi_id:
        return _("%(reference)s is Wompi transaction %(ours)s, not %(theirs)s.") % {
            "reference": attempt.reference,
            "ours": attempt.wompi_id,
            "theirs": wompi_id,
        }
    if reference != attempt.reference:
        return _("Wompi transaction %(id)s has reference %(theirs)s, not %(ours)s.") % {
            "id": wompi_id,
            "theirs": reference,
            "ours": attempt.reference,
        }
    return ""


def answer_mismatch(attempt, found):
    """Why Wompi's answer about a transaction (checked by `events.check_transaction`) cannot be `attempt`'s, or ''."""
    return mismatch(
        attempt,
        wompi_id=found["id"],
        amount_in_cents=found["amount_in_cents"],
        currency=found["currency"],
        reference=found["reference"],
    )


def refresh_available(attempt):
    """Whether asking Wompi can still change `attempt`: an approval can still be voided at Wompi,
    the other outcomes are final."""
    return bool(NEXT_STATUSES.get(attempt.status))


def refresh(attempt, client):
    try:
        if attempt.wompi_id:
            found = client.transaction(attempt.wompi_id)
        else:
            matches = client.transactions_with_reference(attempt.reference)
            found = next((item for item in matches if item.get("reference") == attempt.reference), None)
    except WompiRefused as refusal:
        raise ValidationError(
            _("Wompi does not know this transaction: %(reason)s") % {"reason": refusal.describe()}
        ) from None
    except (WompiUnavailable, WompiServerError):
        raise ValidationError(_("Wompi did not answer; try again in a minute.")) from None
    if found is None:
        return attempt
    try:
        events.check_transaction(found)
    except ValidationError:
        raise ValidationError(
            _("Wompi's answer about this transaction is incomplete; try again in a minute.")
        ) from None
    return _apply_wompi_answer(attempt, found)


@transaction.atomic
def _apply_wompi_answer(attempt, found):
    attempt = GatewayTransaction.objects.select_for_update().select_related("customer").get(pk=attempt.pk)
    problem = answer_mismatch(attempt, found)
    if problem:
        raise ValidationError(problem)
    take_wompi_answer(attempt, found)
    return attempt


def take_wompi_answer(attempt, found):
    """Apply Wompi's answer about a locked attempt it matches: its id, its bank link and, when it is a
    step forward, its status (with the payment on approval)."""
    attempt.wompi_id = attempt.wompi_id or found["id"]
    attempt.async_payment_url = attempt.async_payment_url or async_payment_url(found)
    attempt.save(update_fields=["wompi_id", "async_payment_url", "updated_at"])
    finalized = found.get("finalized_at")
    try:
        moment = datetime.fromisoformat(finalized) if isinstance(finalized, str) else timezone.now()
    except ValueError:
        moment = timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if not transition_refusal(attempt, found["status"]):
        move(
            attempt,
            to=found["status"],
            wompi_id=found["id"],
            message=found.get("status_message") or "",
            source="wompi_api",
            on=received_on(moment),
        )


def gateway_transaction_refresh(*, gateway_transaction):
    """Ask Wompi how a transaction stands (GET /transactions/{id}, or by reference when its answer
    to the POST was lost) and apply it; the refreshed GatewayTransaction."""
    return refresh(gateway_transaction, WompiClient())
