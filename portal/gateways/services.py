"""Every write about online payments: starting one with Wompi, learning how it ended (from a
verified event or from asking Wompi), and recording the payment when it is approved.

A transaction's status only ever moves forward (PENDING → APPROVED | DECLINED | VOIDED | ERROR,
APPROVED → VOIDED), under a row lock, and only on Wompi's word: a verified event or Wompi's own
answer to GET /transactions/{id}. What the payer's app or browser says is never taken for it.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.money import format_money
from portal.customers.models import Customer
from portal.payments.services import payment_receive

from . import events
from .models import GatewayTransaction, PaymentMethod, WebhookEvent
from .wompi import WompiClient, WompiRefused, WompiServerError, WompiUnavailable

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


def _mismatch(attempt, wompi_transaction):
    """Why Wompi's account of a transaction cannot be ours, or ''."""
    same_amount = wompi_transaction["amount_in_cents"] == attempt.amount_in_cents
    if not same_amount or wompi_transaction["currency"] != attempt.currency:
        reported = Decimal(wompi_transaction["amount_in_cents"]) / 100
        return _("Wompi reports %(reported)s for %(reference)s, but %(expected)s was asked.") % {
            "reported": format_money(reported, wompi_transaction["currency"]),
            "reference": attempt.reference,
            "expected": format_money(attempt.amount, attempt.currency),
        }
    if attempt.wompi_id and attempt.wompi_id != wompi_transaction["id"]:
        return _("%(reference)s is Wompi transaction %(ours)s, not %(theirs)s.") % {
            "reference": attempt.reference,
            "ours": attempt.wompi_id,
            "theirs": wompi_transaction["id"],
        }
    return ""


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
    problem = _mismatch(attempt, found)
    if problem:
        raise ValidationError(problem)
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
    return attempt


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


@dataclass(frozen=True)
class WebhookOutcome:
    """What became of one delivery: `verified` False means the checksum was wrong."""

    verified: bool
    duplicate: bool
    status: str
    detail: str = ""


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


def _store_event(*, event_id, event_type, payload, status, error="", reference="", now):
    return _upsert_event(
        provider=WebhookEvent.Provider.WOMPI,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        reference=reference,
        received_at=now,
        processed_at=None if status == EventStatus.RECEIVED else now,
        status=status,
        error=error[:2000],
        deliveries=1,
        last_received_at=now,
    )


def _queue_processing(webhook_event_id):
    from .tasks import webhook_event_process_task

    webhook_event_process_task(webhook_event_id=webhook_event_id)


@transaction.atomic
def _transaction_event_store(event, event_id, payload, now):
    stored, new = _store_event(
        event_id=event_id,
        event_type=event.event_type,
        payload=payload,
        status=EventStatus.RECEIVED,
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
def _other_event_store(event, event_id, payload, now):
    error = _("Amparo does not act on %(type)s events.") % {"type": event.event_type}
    _stored, new = _store_event(
        event_id=event_id,
        event_type=event.event_type,
        payload=payload,
        status=EventStatus.IGNORED,
        error=error,
        now=now,
    )
    return WebhookOutcome(verified=True, duplicate=not new, status=EventStatus.IGNORED if new else "", detail=error)


@transaction.atomic
def _unverified_event_store(event, body, payload, now):
    error = _("The checksum does not match the event: it was not applied.")
    _store_event(
        event_id=events.unverified_event_id(body),
        event_type=event.event_type,
        payload=payload,
        status=EventStatus.FAILED,
        error=error,
        reference=(event.transaction or {}).get("reference", ""),
        now=now,
    )
    return WebhookOutcome(verified=False, duplicate=False, status=EventStatus.FAILED, detail=error)


def wompi_event_receive(*, body, header_checksum=""):
    """Store one delivery of a Wompi event; a WebhookOutcome.

    Raises ValidationError, having stored nothing, when `body` is not a well-formed event. An event
    whose checksum is wrong is stored as FAILED and changes nothing else. A repeat of an event
    already stored only counts a delivery. A new `transaction.updated` event is stored RECEIVED and
    queued for `webhook_event_process`; events of other types are stored IGNORED.
    """
    event = events.parse_event(body)
    values = events.signed_values(event)
    payload = body.decode("utf-8")
    now = timezone.now()
    if not events.checksum_is_valid(
        event, values, header_checksum=header_checksum, secret=settings.WOMPI_EVENTS_SECRET
    ):
        return _unverified_event_store(event, body, payload, now)
    event_id = events.event_id(event, values)
    if event.transaction is None:
        return _other_event_store(event, event_id, payload, now)
    return _transaction_event_store(event, event_id, payload, now)


def _decide(attempt, wompi_transaction):
    """(event status, error) for an event about `attempt` before anything is applied."""
    if attempt is None:
        return EventStatus.FAILED, _("No payment was started with reference %(reference)s.") % {
            "reference": wompi_transaction["reference"]
        }
    problem = _mismatch(attempt, wompi_transaction)
    if problem:
        return EventStatus.FAILED, problem
    refusal = _transition_refusal(attempt, wompi_transaction["status"])
    if refusal:
        return EventStatus.IGNORED, refusal
    return EventStatus.PROCESSED, ""


@transaction.atomic
def webhook_event_process(*, webhook_event_id):
    """Apply a stored `transaction.updated` event, once: the transaction's status, on approval the
    payment (its allocation to instalments, ledger entry and receipt), the audit events, and the
    event's own outcome, in one transaction. The event returned; one already applied is left as it is.

    The event's row is locked first, so the worker and the sweep never apply it both; then the
    transaction's, so deliveries about one transaction are applied one after the other, each
    seeing what the previous one did.
    """
    stored = WebhookEvent.objects.select_for_update().filter(pk=webhook_event_id).first()
    if stored is None or stored.status != EventStatus.RECEIVED:
        return stored
    attempt = (
        GatewayTransaction.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(reference=stored.reference)
        .first()
    )
    event = events.parse_event(stored.payload.encode())
    wompi_transaction = event.transaction
    status, error = _decide(attempt, wompi_transaction)
    if status == EventStatus.PROCESSED:
        refusal = _move(
            attempt,
            to=wompi_transaction["status"],
            wompi_id=wompi_transaction["id"],
            message=wompi_transaction.get("status_message") or "",
            source="webhook",
            on=_received_on(datetime.fromtimestamp(event.timestamp, UTC)),
        )
        if refusal:
            status, error = EventStatus.FAILED, refusal
    stored.status = status
    stored.error = error[:2000]
    stored.processed_at = timezone.now()
    stored.gateway_transaction = attempt
    stored.save(update_fields=["status", "error", "processed_at", "gateway_transaction"])
    return stored


def webhook_events_process_pending(*, older_than=timedelta(minutes=2), limit=1000):
    """Apply the events still RECEIVED `older_than` after they arrived (their task was lost or
    failed); how many were looked at. Each is applied in its own transaction."""
    pending = list(
        WebhookEvent.objects.filter(status=EventStatus.RECEIVED, received_at__lt=timezone.now() - older_than)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for webhook_event_id in pending:
        webhook_event_process(webhook_event_id=webhook_event_id)
    return len(pending)
