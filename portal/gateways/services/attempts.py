"""Starting an online payment with Wompi: the attempt is saved with its own reference before Wompi is
called, so a resend after a lost answer never charges twice."""

import logging
import secrets
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core import payment_targets
from portal.core.exceptions import Conflict
from portal.customers.models import Customer

from ..models import GatewayTransaction, PaymentMethod, WebhookEvent
from ..wompi import WompiClient, WompiRefused, WompiServerError, WompiUnavailable
from .outcomes import async_payment_url, refresh

logger = logging.getLogger(__name__)
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status

# Wompi collects in Colombian pesos only.
GATEWAY_CURRENCIES = ("COP",)
PSE_PERSON, PSE_COMPANY = 0, 1
PSE_LEGAL_ID_TYPES = ("CC", "CE", "NIT", "PP", "TI")
PSE_DESCRIPTION_MAX = 30
MAX_CARD_INSTALLMENTS = 36


class GatewayUnavailable(ValidationError):
    """Wompi could not be asked, so nothing was started or charged: the same request may be tried again."""


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


def _paid_for_check(paid_for, *, customer, cents, currency):
    """Refuse a second online payment for a record while one is still waiting for Wompi: a lost answer
    followed by a new tap would otherwise charge the customer twice for the same debt."""
    waiting = GatewayTransaction.objects.filter(
        paid_for_type=paid_for._meta.label_lower, paid_for_id=str(paid_for.pk), status=Status.PENDING
    )
    if waiting.exists():
        raise Conflict(
            _("An online payment for this is still waiting for Wompi's answer; follow it before paying again.")
        )
    payment_targets.target_for(paid_for._meta.label_lower).check(
        target_id=paid_for.pk, customer=customer, amount=Decimal(cents) / 100, currency=currency
    )


@transaction.atomic
def _attempt_record(*, customer, cents, currency, method, stored_details, actor, paid_for):
    if paid_for is not None:
        # The record's row lock orders two starts for it: the second sees the first one PENDING.
        list(type(paid_for).objects.select_for_update().filter(pk=paid_for.pk).values_list("pk", flat=True))
        _paid_for_check(paid_for, customer=customer, cents=cents, currency=currency)
    attempt = GatewayTransaction.objects.create(
        reference=_new_reference(),
        customer=customer,
        amount_in_cents=cents,
        currency=currency,
        method=method,
        method_details=stored_details,
        created_by=actor,
        paid_for_type=paid_for._meta.label_lower if paid_for is not None else "",
        paid_for_id=str(paid_for.pk) if paid_for is not None else "",
    )
    metadata = {"customer": customer.pk, "amount": str(attempt.amount), "currency": currency, "method": method}
    if paid_for is not None:
        metadata["paid_for"] = f"{attempt.paid_for_type}:{attempt.paid_for_id}"
    audit_record(actor=actor, action="gateway.payment_started", target=attempt, metadata=metadata)
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


def online_payment_start(*, customer, amount, currency, method, method_details, actor, redirect_url="", paid_for=None):
    """Ask Wompi to collect `amount` from `customer` by card, Nequi or PSE; the GatewayTransaction.

    The money goes to the customer's premium account, or, with `paid_for` (a record whose model is a
    registered payment target, e.g. a loan), to that record, which checks the payment here first
    (ValidationError, or Conflict when the record cannot take it now) and receives it on approval.

    The attempt is saved (and committed) before Wompi is called, so an event that arrives before
    Wompi's answer finds it. Call it outside a transaction: it waits on the network.
    Raises ValidationError for bad input or when Wompi refuses (GatewayUnavailable, one, when Wompi
    cannot be asked at all: nothing was started); when Wompi's answer is lost the
    attempt stays PENDING with a note, and `gateway_transaction_refresh` finds out what happened.
    """
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer who pays.")})
    cents = amount_in_cents(amount)
    if currency not in GATEWAY_CURRENCIES:
        raise ValidationError({"currency": _("Wompi collects in Colombian pesos (COP) only.")})
    payment_method, stored_details = payment_method_for_wompi(method, method_details)
    if paid_for is not None:
        _paid_for_check(paid_for, customer=customer, cents=cents, currency=currency)
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
        raise GatewayUnavailable(
            _("Wompi cannot be reached just now, so nothing was charged. Try again in a minute.")
        ) from None

    attempt = _attempt_record(
        customer=customer,
        cents=cents,
        currency=currency,
        method=method,
        stored_details=stored_details,
        actor=actor,
        paid_for=paid_for,
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
            return refresh(attempt, client)
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
    attempt.async_payment_url = attempt.async_payment_url or async_payment_url(data)
    attempt.status_message = ""
    attempt.save(update_fields=["wompi_id", "async_payment_url", "status_message", "updated_at"])
    return attempt
