"""Every write about online payments: starting one with Wompi, learning how it ended (from a
verified event or from asking Wompi), and recording the payment when it is approved.

A transaction's status only ever moves forward (PENDING → APPROVED | DECLINED | VOIDED | ERROR,
APPROVED → VOIDED), under a row lock, and only on Wompi's word: a verified event or Wompi's own
answer to GET /transactions/{id}. What the payer's app or browser says is never taken for it.
"""

import hashlib
import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.money import format_money
from portal.core.request_context import current_request_context
from portal.customers.models import Customer
from portal.payments.services import payment_receive

from . import events
from .models import GatewayTransaction, PaymentMethod, WebhookEvent
from .wompi import WompiClient, WompiError, WompiRefused, WompiServerError, WompiUnavailable

logger = logging.getLogger(__name__)
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status

# Wompi collects in Colombian pesos only.
GATEWAY_CURRENCIES = ("COP",)
NEXT_STATUSES = {
    Status.PENDING: {Status.APPROVED, Status.DECLINED, Status.VOIDED, Status.ERROR},
    Status.APPROVED: {Status.VOIDED},
}
PSE_PERSON, PSE_COMPANY = 0, 1
PSE_LEGAL_ID_TYPES = ("CC", "CE", "NIT", "PP", "TI")
PSE_DESCRIPTION_MAX = 30
MAX_CARD_INSTALLMENTS = 36


def _new_reference():
    return f"AMP-{secrets.token_hex(8).upper()}"


def amount_in_cents(amount):
    """A positive amount with at most two decimals, in cents; ValidationError otherwise."""
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"amount": _("Enter the amount as a number, e.g. 125000.50.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValidationError({"amount": _("The amount can have at most two decimals.")})
    return int(cents)


def _card(details):
    token = details.get("token")
    if not isinstance(token, str) or not token.startswith("tok_"):
        raise ValidationError({"token": _("A card payment needs the card token from Wompi's payment widget.")})
    installments = details.get("installments", 1)
    if isinstance(installments, bool) or not isinstance(installments, int):
        raise ValidationError({"installments": _("Instalments must be a whole number.")})
    if not 1 <= installments <= MAX_CARD_INSTALLMENTS:
        raise ValidationError(
            {"installments": _("Instalments go from 1 to %(most)d.") % {"most": MAX_CARD_INSTALLMENTS}}
        )
    return {"type": "CARD", "token": token, "installments": installments}, {"installments": installments}


def _nequi(details):
    phone = "".join(str(details.get("phone_number", "")).split())
    if not (phone.isdigit() and len(phone) == 10 and phone.startswith("3")):
        raise ValidationError(
            {"phone_number": _("Enter the Nequi mobile number: ten digits starting with 3, e.g. 3001234567.")}
        )
    return {"type": "NEQUI", "phone_number": phone}, {"phone_number": phone}


def _pse(details):
    errors = {}
    user_type = details.get("user_type")
    if str(user_type) not in {str(PSE_PERSON), str(PSE_COMPANY)}:
        errors["user_type"] = _("Choose whether the payer is a person or a company.")
    legal_id_type = details.get("user_legal_id_type")
    if legal_id_type not in PSE_LEGAL_ID_TYPES:
        errors["user_legal_id_type"] = _("Choose the payer's ID type.")
    legal_id = "".join(str(details.get("user_legal_id", "")).split()).upper()
    if not (legal_id.isalnum() and len(legal_id) <= 20):
        errors["user_legal_id"] = _("Enter the payer's ID number: letters and digits only.")
    bank = str(details.get("financial_institution_code", "")).strip()
    # Wompi's bank list starts with a "choose your bank" row whose code is 0.
    if not bank or bank == "0":
        errors["financial_institution_code"] = _("Choose the payer's bank.")
    description = str(details.get("payment_description", "")).strip()
    if not 0 < len(description) <= PSE_DESCRIPTION_MAX:
        errors["payment_description"] = _("Describe the payment in 1 to %(most)d characters; the bank shows it.") % {
            "most": PSE_DESCRIPTION_MAX
        }
    if errors:
        raise ValidationError(errors)
    method = {
        "type": "PSE",
        "user_type": int(user_type),
        "user_legal_id_type": legal_id_type,
        "user_legal_id": legal_id,
        "financial_institution_code": bank,
        "payment_description": description,
    }
    stored = {key: value for key, value in method.items() if key != "type"}
    if details.get("financial_institution_name"):
        stored["financial_institution_name"] = str(details["financial_institution_name"])[:120]
    return method, stored


METHOD_DETAILS = {PaymentMethod.CARD: _card, PaymentMethod.NEQUI: _nequi, PaymentMethod.PSE: _pse}


def payment_method_for_wompi(method, method_details):
    """(Wompi's payment_method object, what we keep of it): the card token is sent, never kept."""
    if method not in METHOD_DETAILS:
        raise ValidationError({"method": _("Choose card, Nequi or PSE.")})
    if not isinstance(method_details, dict):
        raise ValidationError({"method": _("The payment method details are missing.")})
    return METHOD_DETAILS[method](method_details)


@transaction.atomic
def _attempt_record(*, customer, cents, currency, method, stored_details, actor):
    attempt = GatewayTransaction.objects.create(
        reference=_new_reference(),
        customer=customer,
        amount_in_cents=cents,
        currency=currency,
        method=method,
        method_details=stored_details,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="gateway.payment_started",
        target=attempt,
        metadata={"customer": customer.pk, "amount": str(attempt.amount), "currency": currency, "method": method},
    )
    return attempt


@transaction.atomic
def _attempt_refused(attempt, message):
    attempt = GatewayTransaction.objects.select_for_update().get(pk=attempt.pk)
    before = attempt.status
    attempt.status = Status.ERROR
    attempt.status_changed_at = timezone.now()
    attempt.status_message = message[:255]
    attempt.save(update_fields=["status", "status_changed_at", "status_message", "updated_at"])
    audit_record(
        actor=None,
        action="gateway.status_changed",
        target=attempt,
        metadata={"from": before, "to": attempt.status, "source": "refused", "message": attempt.status_message},
    )
    return attempt


@transaction.atomic
def _attempt_noted(attempt, message):
    GatewayTransaction.objects.filter(pk=attempt.pk).update(status_message=message[:255], updated_at=timezone.now())
    attempt.refresh_from_db()
    return attempt


def _async_payment_url(data):
    extra = (data.get("payment_method") or {}).get("extra") if isinstance(data.get("payment_method"), dict) else None
    url = extra.get("async_payment_url") if isinstance(extra, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


def online_payment_start(*, customer, amount, currency, method, method_details, actor, redirect_url=""):
    """Ask Wompi to collect `amount` from `customer` by card, Nequi or PSE; the GatewayTransaction.

    The attempt is saved (and committed) before Wompi is called, so an event that arrives before
    Wompi's answer finds it. Call it outside a transaction: it waits on the network.
    Raises ValidationError for bad input or when Wompi refuses; when Wompi's answer is lost the
    attempt stays PENDING with a note, and `gateway_transaction_refresh` finds out what happened.
    """
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer who pays.")})
    cents = amount_in_cents(amount)
    if currency not in GATEWAY_CURRENCIES:
        raise ValidationError({"currency": _("Wompi collects in Colombian pesos (COP) only.")})
    payment_method, stored_details = payment_method_for_wompi(method, method_details)
    if not customer.email_primary:
        raise ValidationError(
            {
                "customer": _("%(name)s has no email; Wompi needs one to send the receipt.")
                % {"name": customer.full_name}
            }
        )
    client = WompiClient()
    try:
        acceptance = client.acceptance_tokens()
    except (WompiUnavailable, WompiServerError, WompiRefused):
        raise ValidationError(
            _("Wompi cannot be reached just now, so nothing was charged. Try again in a minute.")
        ) from None

    attempt = _attempt_record(
        customer=customer, cents=cents, currency=currency, method=method, stored_details=stored_details, actor=actor
    )
    try:
        created = client.create_transaction(
            reference=attempt.reference,
            amount_in_cents=cents,
            currency=currency,
            customer_email=customer.email_primary,
            payment_method=payment_method,
            acceptance=acceptance,
            redirect_url=redirect_url,
        )
    except WompiRefused as refusal:
        if refusal.reference_taken:
            # Only a retried POST meets its own reference: the first one reached Wompi, its answer did not.
            return _refresh(attempt, client)
        _attempt_refused(attempt, refusal.describe())
        raise ValidationError(_("Wompi refused the payment: %(reason)s") % {"reason": refusal.describe()}) from None
    except (WompiUnavailable, WompiServerError):
        return _attempt_noted(
            attempt, _("Wompi did not confirm the payment; check its status with Wompi in a few minutes.")
        )
    return _attempt_sent(attempt, created)


@transaction.atomic
def _attempt_sent(attempt, data):
    """Keep Wompi's id and the bank link of a transaction it created. Its status is left alone:
    Wompi creates every transaction PENDING, and only its event or GET /transactions/{id} moves it."""
    attempt = GatewayTransaction.objects.select_for_update().get(pk=attempt.pk)
    if data.get("reference") != attempt.reference or not isinstance(data.get("id"), str):
        return attempt
    attempt.wompi_id = attempt.wompi_id or data["id"]
    attempt.async_payment_url = attempt.async_payment_url or _async_payment_url(data)
    attempt.status_message = ""
    attempt.save(update_fields=["wompi_id", "async_payment_url", "status_message", "updated_at"])
    return attempt


def _received_on(moment):
    return min(timezone.localdate(moment), timezone.localdate())


def _record_payment(attempt, *, on):
    """The ledger side of an approval: (payment, None), or (None, why) when the payments service refuses
    it. payment_receive runs in a savepoint of its own, so a refusal leaves nothing of it behind."""
    try:
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


def _transition_refusal(attempt, to):
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


def _move(attempt, *, to, wompi_id, message, source, on):
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
        attempt.payment, refusal = _record_payment(attempt, on=on)
    attempt.save(update_fields=["status", "status_changed_at", "wompi_id", "status_message", "payment", "updated_at"])
    return refusal or ""


def _mismatch(attempt, *, wompi_id, amount_in_cents, currency, reference):
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


def _answer_mismatch(attempt, found):
    """Why Wompi's answer about a transaction (checked by `events.check_transaction`) cannot be `attempt`'s, or ''."""
    return _mismatch(
        attempt,
        wompi_id=found["id"],
        amount_in_cents=found["amount_in_cents"],
        currency=found["currency"],
        reference=found["reference"],
    )


# --- asking Wompi -----------------------------------------------------------------------------------


def _refresh(attempt, client):
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
    problem = _answer_mismatch(attempt, found)
    if problem:
        raise ValidationError(problem)
    _take_wompi_answer(attempt, found)
    return attempt


def _take_wompi_answer(attempt, found):
    """Apply Wompi's answer about a locked attempt it matches: its id, its bank link and, when it is a
    step forward, its status (with the payment on approval)."""
    attempt.wompi_id = attempt.wompi_id or found["id"]
    attempt.async_payment_url = attempt.async_payment_url or _async_payment_url(found)
    attempt.save(update_fields=["wompi_id", "async_payment_url", "updated_at"])
    finalized = found.get("finalized_at")
    try:
        moment = datetime.fromisoformat(finalized) if isinstance(finalized, str) else timezone.now()
    except ValueError:
        moment = timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if not _transition_refusal(attempt, found["status"]):
        _move(
            attempt,
            to=found["status"],
            wompi_id=found["id"],
            message=found.get("status_message") or "",
            source="wompi_api",
            on=_received_on(moment),
        )


def gateway_transaction_refresh(*, gateway_transaction):
    """Ask Wompi how a transaction stands (GET /transactions/{id}, or by reference when its answer
    to the POST was lost) and apply it; the refreshed GatewayTransaction."""
    return _refresh(gateway_transaction, WompiClient())


# --- events -----------------------------------------------------------------------------------------
#
# A delivery is verified and stored in a short transaction of its own and answered at once; the
# event is applied right after by the worker (webhook_event_process), in one transaction with
# everything it changes. Answering does not wait for the ledger, whose receipt numbers approvals
# take one at a time, and Wompi's resends cannot pile up behind it.
#
# Only what the checksum covers is believed (events.SignedTransaction): the attempt is the one with
# the signed transaction id, and its reference and currency are our own. When no attempt has that id
# (Wompi's answer to our POST was lost), or, with WOMPI_CONFIRM_APPROVALS, before an approval becomes
# a payment, the worker asks Wompi (GET /transactions/{id}) first, outside the transaction; when
# Wompi does not answer, the event stays RECEIVED for the sweep.


@dataclass(frozen=True)
class WebhookOutcome:
    """What became of one delivery: `verified` False means it was refused (checksum, signed properties
    or age); `throttled` that it was not even stored, its address having sent too many that are not
    applied."""

    verified: bool
    duplicate: bool
    status: str
    detail: str = ""
    throttled: bool = False


def _upsert_event(**values):
    """Store the event, or count one more delivery of the one stored under (provider, event_id):
    (its id, True when this delivery stored it).

    One statement: a concurrent repeat waits for the first delivery's transaction and then counts
    itself, where a get-then-create would race.
    """
    meta = WebhookEvent._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    table = quote(meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = ", ".join(quote(meta.get_field(name).column) for name in ("provider", "event_id"))
    deliveries, last = quote(meta.get_field("deliveries").column), quote(meta.get_field("last_received_at").column)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - names come from the model
            f"ON CONFLICT ({conflict}) DO UPDATE SET {deliveries} = {table}.{deliveries} + 1, {last} = EXCLUDED.{last} "
            f"RETURNING {quote(meta.pk.column)}, {deliveries}",
            params,
        )
        webhook_event_id, delivery = cursor.fetchone()
    return webhook_event_id, delivery == 1


def _source_address():
    """The client address the middleware found for this request, when it is an IP address."""
    address = current_request_context().ip_address
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def _store_event(*, event_id, event_type, body, status, verified, kept_whole, error="", reference="", now):
    """Store one delivery (see `_upsert_event`): whole when `kept_whole`, else its first
    PAYLOAD_KEPT_BYTES; always its size, SHA-256 and source address."""
    kept = WebhookEvent.PAYLOAD_KEPT_BYTES
    return _upsert_event(
        provider=WebhookEvent.Provider.WOMPI,
        event_id=event_id,
        event_type=event_type,
        # A multibyte character cut at the limit is dropped, not stored half.
        payload=body.decode("utf-8") if kept_whole else body[:kept].decode("utf-8", errors="ignore"),
        reference=reference,
        received_at=now,
        processed_at=None if status == EventStatus.RECEIVED else now,
        status=status,
        error=error[:2000],
        deliveries=1,
        last_received_at=now,
        verified=verified,
        payload_bytes=len(body),
        payload_sha256=hashlib.sha256(body).hexdigest(),
        payload_truncated=not kept_whole and len(body) > kept,
        source_address=_source_address(),
    )


def _unapplied_delivery_allowed():
    """Count one more delivery from this request's address that will be kept without being applied;
    False past WOMPI_UNAPPLIED_EVENTS_PER_HOUR in the current hour.

    The count is in the default cache, so every process sharing that cache shares the limit.
    """
    hour = int(time.time() // 3600)
    key = f"gateways:wompi-unapplied:{_source_address() or 'unknown'}:{hour}"
    cache.add(key, 0, timeout=3600 + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=3600 + 60)
        count = 1
    limit = settings.WOMPI_UNAPPLIED_EVENTS_PER_HOUR
    if count == limit + 1:  # once an hour per address, however long the flood
        logger.warning("wompi deliveries throttled", extra={"source_address": _source_address(), "limit": limit})
    return count <= limit


def _throttled(*, verified):
    detail = _("Too many deliveries that cannot be applied have come from this address; try again later.")
    return WebhookOutcome(verified=verified, duplicate=False, status="", detail=detail, throttled=True)


def _queue_processing(webhook_event_id):
    from .tasks import webhook_event_process_task

    webhook_event_process_task(webhook_event_id=webhook_event_id)


@transaction.atomic
def _transaction_event_store(event, event_id, body, now):
    stored, new = _store_event(
        event_id=event_id,
        event_type=event.event_type,
        body=body,
        status=EventStatus.RECEIVED,
        verified=True,
        kept_whole=True,
        # Not signed: shown on the transaction's page until the event is applied, never acted on.
        reference=event.transaction["reference"],
        now=now,
    )
    if not new:
        return WebhookOutcome(verified=True, duplicate=True, status="")
    # robust: the event is stored whatever happens to the queue; webhook_events_process_pending
    # applies an event whose task never ran.
    transaction.on_commit(partial(_queue_processing, stored), robust=True)
    return WebhookOutcome(verified=True, duplicate=False, status=EventStatus.RECEIVED)


@transaction.atomic
def _other_event_store(event, event_id, body, now):
    error = _("Amparo does not act on %(type)s events.") % {"type": event.event_type}
    _stored, new = _store_event(
        event_id=event_id,
        event_type=event.event_type,
        body=body,
        status=EventStatus.IGNORED,
        verified=True,
        kept_whole=False,
        error=error,
        now=now,
    )
    return WebhookOutcome(verified=True, duplicate=not new, status=EventStatus.IGNORED if new else "", detail=error)


@transaction.atomic
def _refused_event_store(event, body, error, now):
    _store_event(
        event_id=events.unverified_event_id(body),
        event_type=event.event_type,
        body=body,
        status=EventStatus.FAILED,
        verified=False,
        kept_whole=False,
        error=error,
        reference=(event.transaction or {}).get("reference", ""),
        now=now,
    )
    return WebhookOutcome(verified=False, duplicate=False, status=EventStatus.FAILED, detail=error)


def _refusal(event, values, *, header_checksum, now):
    """Why a delivery is not taken as Wompi's event, or ''."""
    wrong_properties = events.properties_refusal(event)
    if wrong_properties:
        return wrong_properties
    if not events.checksum_is_valid(
        event, values, header_checksum=header_checksum, secret=settings.WOMPI_EVENTS_SECRET
    ):
        return _("The checksum does not match the event: it was not applied.")
    return events.age_refusal(event, now=now, max_age=timedelta(seconds=settings.WOMPI_EVENT_MAX_AGE_SECONDS))


def wompi_event_receive(*, body, header_checksum=""):
    """Store one delivery of a Wompi event; a WebhookOutcome.

    Raises ValidationError, having stored nothing, when `body` is not a well-formed event. An event
    whose checksum is wrong, whose signature names other properties than Wompi signs for its type,
    or that is older than WOMPI_EVENT_MAX_AGE_SECONDS is refused: stored as FAILED (bounded, see
    WebhookEvent) and nothing else changes. A repeat of an event already stored only counts a
    delivery. A new `transaction.updated` event is stored RECEIVED and queued for
    `webhook_event_process`; events of other types are stored IGNORED. Deliveries that are kept
    without being applied are limited per source address: past the limit nothing is stored.
    """
    event = events.parse_event(body)
    values = events.signed_values(event)
    now = timezone.now()
    refusal = _refusal(event, values, header_checksum=header_checksum, now=now)
    if refusal:
        if not _unapplied_delivery_allowed():
            return _throttled(verified=False)
        return _refused_event_store(event, body, refusal, now)
    event_id = events.event_id(event, values)
    if event.transaction is None:
        if not _unapplied_delivery_allowed():
            return _throttled(verified=True)
        return _other_event_store(event, event_id, body, now)
    return _transaction_event_store(event, event_id, body, now)


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
    problem = _mismatch(
        attempt,
        wompi_id=signed.id,
        amount_in_cents=signed.amount_in_cents,
        currency=attempt.currency,
        reference=attempt.reference,
    ) or (_answer_mismatch(attempt, found) if found is not None else "")
    if problem:
        return EventStatus.FAILED, problem, False
    if found is not None and found["status"] != signed.status:
        error = _("The event says %(event)s, but Wompi says %(wompi)s: Wompi's answer was taken instead.") % {
            "event": labels.get(signed.status, signed.status),
            "wompi": labels.get(found["status"], found["status"]),
        }
        return EventStatus.FAILED, error, True
    refusal = _transition_refusal(attempt, signed.status)
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
            _take_wompi_answer(attempt, found)
    if status == EventStatus.PROCESSED:
        refusal = _move(
            attempt,
            to=signed.status,
            wompi_id=signed.id,
            message=(found or {}).get("status_message") or "",
            source="webhook",
            on=_received_on(datetime.fromtimestamp(event.timestamp, UTC)),
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
