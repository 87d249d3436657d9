"""Applying a stored Wompi event, in the worker: the function its task runs, in a module that never
enqueues. See `webhook_event_process`."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from . import events
from .models import GatewayTransaction, WebhookEvent
from .services.outcomes import (
    NEXT_STATUSES,
    answer_mismatch,
    mismatch,
    move,
    received_on,
    take_wompi_answer,
    transition_refusal,
)
from .wompi import WompiClient, WompiError, WompiRefused, WompiServerError, WompiUnavailable

logger = logging.getLogger(__name__)
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status

# Only what the checksum covers is believed (events.SignedTransaction): the attempt is the one with
# the signed transaction id, and its reference and currency are our own. When no attempt has that id
# (Wompi's answer to our POST was lost), or, with WOMPI_CONFIRM_APPROVALS, before an approval becomes
# a payment, the worker asks Wompi (GET /transactions/{id}) first, outside the transaction; when
# Wompi does not answer, the event stays RECEIVED for the sweep.


def _wompi_must_be_asked(signed):
    """Whether applying an event about `signed` needs Wompi's own answer first: when no attempt has
    its transaction id (the reference that would say which attempt it is, is not signed), and, with
    WOMPI_CONFIRM_APPROVALS, when it would approve an attempt."""
    status = GatewayTransaction.objects.filter(wompi_id=signed.id).values_list("status", flat=True).first()
    if status is None:
        return True
    return (
        settings.WOMPI_CONFIRM_APPROVALS
        and signed.status == Status.APPROVED
        and Status.APPROVED in NEXT_STATUSES.get(status, set())
    )


def _ask_wompi(wompi_id):
    """Wompi's answer about a transaction (checked), or None when Wompi has no such transaction.
    Raises WompiError when no usable answer came back."""
    try:
        found = WompiClient().transaction(wompi_id)
    except WompiRefused as refusal:
        if refusal.status_code == 404:
            return None
        raise
    try:
        events.check_transaction(found)
    except ValidationError:
        raise WompiServerError(200, "Wompi's answer about the transaction is incomplete") from None
    return found


def _attempt_of(signed, found):
    """The locked attempt an event is about: the one with its signed transaction id, else the one
    with the reference Wompi gives for it."""
    attempts = GatewayTransaction.objects.select_for_update(of=("self",)).select_related("customer")
    attempt = attempts.filter(wompi_id=signed.id).first()
    if attempt is None and found is not None:
        attempt = attempts.filter(reference=found["reference"]).first()
    return attempt


def _decide(attempt, signed, *, asked, found):
    """(event status, error, whether Wompi's differing answer is taken instead) for a verified event
    about `attempt`, before anything is applied."""
    labels = dict(Status.choices)
    if asked and found is None:
        return EventStatus.FAILED, _("Wompi has no transaction %(id)s.") % {"id": signed.id}, False
    if attempt is None:
        if found is not None:
            error = _("No payment was started with reference %(reference)s.") % {"reference": found["reference"]}
        else:
            error = _("No payment was sent to Wompi as transaction %(id)s.") % {"id": signed.id}
        return EventStatus.FAILED, error, False
    problem = mismatch(
        attempt,
        wompi_id=signed.id,
        amount_in_cents=signed.amount_in_cents,
        currency=attempt.currency,
        reference=attempt.reference,
    ) or (answer_mismatch(attempt, found) if found is not None else "")
    if problem:
        return EventStatus.FAILED, problem, False
    if found is not None and found["status"] != signed.status:
        error = _("The event says %(event)s, but Wompi says %(wompi)s: Wompi's answer was taken instead.") % {
            "event": labels.get(signed.status, signed.status),
            "wompi": labels.get(found["status"], found["status"]),
        }
        return EventStatus.FAILED, error, True
    refusal = transition_refusal(attempt, signed.status)
    if refusal:
        return EventStatus.IGNORED, refusal, False
    return EventStatus.PROCESSED, "", False


@transaction.atomic
def _event_apply(webhook_event_id, event, *, refusal, asked, found):
    """Apply a stored event in one transaction with everything it changes (see webhook_event_process)."""
    stored = WebhookEvent.objects.select_for_update().filter(pk=webhook_event_id).first()
    if stored is None or stored.status != EventStatus.RECEIVED:
        return stored
    signed = events.signed_transaction(event)
    attempt = None
    if refusal:
        status, error = EventStatus.FAILED, refusal
    else:
        attempt = _attempt_of(signed, found)
        status, error, take_answer = _decide(attempt, signed, asked=asked, found=found)
        if take_answer:
            take_wompi_answer(attempt, found)
    if status == EventStatus.PROCESSED:
        refusal = move(
            attempt,
            to=signed.status,
            wompi_id=signed.id,
            message=(found or {}).get("status_message") or "",
            source="webhook",
            on=received_on(datetime.fromtimestamp(event.timestamp, UTC)),
        )
        if refusal:
            status, error = EventStatus.FAILED, refusal
    stored.status = status
    stored.error = error[:2000]
    stored.processed_at = timezone.now()
    stored.gateway_transaction = attempt
    if attempt is not None or found is not None:
        stored.reference = attempt.reference if attempt is not None else found["reference"]
    stored.save(update_fields=["status", "error", "processed_at", "gateway_transaction", "reference"])
    return stored


def _event_process(webhook_event_id):
    """Apply one stored event: (the event, True when Wompi could not be reached and the event waits).

    An event Wompi gave no usable answer about waits for the sweep; one that has waited longer than
    WOMPI_EVENT_MAX_AGE_SECONDS fails, so that it is listed for someone to ask Wompi by hand.
    """
    stored = WebhookEvent.objects.filter(pk=webhook_event_id).first()
    if stored is None or stored.status != EventStatus.RECEIVED:
        return stored, False
    event = events.parse_event(stored.payload.encode())
    # Events stored before the signed properties were checked at the door are checked here.
    refusal = events.properties_refusal(event)
    asked, found, unreachable = False, None, False
    if not refusal and _wompi_must_be_asked(events.signed_transaction(event)):
        try:
            found = _ask_wompi(event.transaction["id"])
        except WompiError as failure:
            unreachable = isinstance(failure, WompiUnavailable)
            if timezone.now() - stored.received_at <= timedelta(seconds=settings.WOMPI_EVENT_MAX_AGE_SECONDS):
                logger.warning(
                    "wompi event waits: no usable answer from wompi",
                    extra={"webhook_event": webhook_event_id, "failure": type(failure).__name__},
                )
                return stored, unreachable
            refusal = _("Wompi gave no usable answer about this transaction for %(waited)s; ask Wompi on its page.") % {
                "waited": timesince(stored.received_at)
            }
        asked = True
    return _event_apply(webhook_event_id, event, refusal=refusal, asked=asked, found=found), unreachable


def webhook_event_process(*, webhook_event_id):
    """Apply a stored `transaction.updated` event, once: the transaction's status, on approval the
    payment (its allocation to instalments, ledger entry and receipt), the audit events, and the
    event's own outcome, in one transaction. The event returned; one already applied is left as it
    is, and one whose transaction Wompi must be asked about while Wompi does not answer stays
    RECEIVED for `webhook_events_process_pending`.

    The event's row is locked first, so the worker and the sweep never apply it both; then the
    transaction's, so deliveries about one transaction are applied one after the other, each
    seeing what the previous one did.
    """
    return _event_process(webhook_event_id)[0]


def webhook_events_process_pending(*, older_than=timedelta(minutes=2), limit=1000):
    """Apply the events still RECEIVED `older_than` after they arrived (their task was lost or
    failed, or Wompi did not answer); how many were looked at. Each is applied in its own
    transaction. When Wompi cannot be reached, the sweep stops there (each try waits on its timeouts)
    and the next one tries again."""
    pending = list(
        WebhookEvent.objects.filter(status=EventStatus.RECEIVED, received_at__lt=timezone.now() - older_than)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    looked_at = 0
    for webhook_event_id in pending:
        looked_at += 1
        _stored, wompi_unreachable = _event_process(webhook_event_id)
        if wompi_unreachable:
            break
    return looked_at
