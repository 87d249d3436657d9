"""Reading a Wompi event (docs.wompi.co/docs/colombia/eventos): its shape, the values its
signature covers, whether the checksum is right and the event recent, and the id we know it by.

The checksum covers the values of the properties the event itself names in `signature.properties`,
concatenated. A list the sender chooses lets anyone who has seen one genuine event re-sign its
concatenated values as a single made-up property beside a transaction of their own; so for each
event type Amparo acts on, the list must be exactly the one Wompi signs, and only those values are
ever acted on.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from .wompi import event_checksum

# A Wompi event is a couple of kilobytes; anything near this is not one.
MAX_EVENT_BYTES = 64 * 1024
TRANSACTION_UPDATED = "transaction.updated"
TRANSACTION_STATUSES = frozenset({"PENDING", "APPROVED", "DECLINED", "VOIDED", "ERROR"})
MAX_SIGNED_PROPERTIES = 20
MAX_TEXT = 255
# 9999-12-31T23:59:59Z: a larger timestamp is not a moment Python can represent.
MAX_TIMESTAMP = 253_402_300_799
# What Wompi signs, in its order, for each event type Amparo acts on.
SIGNED_PROPERTIES = {TRANSACTION_UPDATED: ("transaction.id", "transaction.status", "transaction.amount_in_cents")}


@dataclass(frozen=True)
class WompiEvent:
    event_type: str
    data: dict
    properties: tuple
    body_checksum: str
    timestamp: int
    environment: str

    @property
    def transaction(self):
        """The transaction a `transaction.updated` event is about (checked by `parse_event`)."""
        return self.data.get("transaction") if self.event_type == TRANSACTION_UPDATED else None


@dataclass(frozen=True)
class SignedTransaction:
    """What a verified `transaction.updated` event can be believed about: the values its checksum
    covers. Its reference, currency and message are not signed, so nothing is taken from them."""

    id: str
    status: str
    amount_in_cents: int


def _refuse(message):
    raise ValidationError(message)


def _text(value, name, *, required=True, max_length=MAX_TEXT):
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        _refuse(_("%(name)s must be a non-empty string.") % {"name": name})
    if len(value) > max_length:
        _refuse(_("%(name)s is longer than %(limit)d characters.") % {"name": name, "limit": max_length})
    if "\x00" in value:
        _refuse(_("%(name)s contains a NUL character.") % {"name": name})
    return value


def _whole_number(value, name):
    # JSON true/false arrive as Python bools, which are ints too; an amount is never one.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _refuse(_("%(name)s must be a whole number of zero or more.") % {"name": name})
    return value


def check_transaction(transaction, *, prefix="data.transaction"):
    """ValidationError unless `transaction` (from an event or from Wompi's API) has the fields we use."""
    if not isinstance(transaction, dict):
        _refuse(_("%(name)s must be an object.") % {"name": prefix})
    _text(transaction.get("id"), f"{prefix}.id", max_length=64)
    _text(transaction.get("reference"), f"{prefix}.reference", max_length=64)
    status = _text(transaction.get("status"), f"{prefix}.status", max_length=16)
    if status not in TRANSACTION_STATUSES:
        _refuse(
            _("%(name)s %(status)r is not a Wompi transaction status.") % {"name": f"{prefix}.status", "status": status}
        )
    _whole_number(transaction.get("amount_in_cents"), f"{prefix}.amount_in_cents")
    currency = _text(transaction.get("currency"), f"{prefix}.currency", max_length=3)
    if len(currency) != 3:
        _refuse(_("%(name)s must be a three-letter currency code.") % {"name": f"{prefix}.currency"})
    _text(transaction.get("payment_method_type"), f"{prefix}.payment_method_type", required=False)


def parse_event(body):
    """The event in `body` (bytes), or ValidationError saying what is wrong with it."""
    if len(body) > MAX_EVENT_BYTES:
        _refuse(_("The event is larger than %(limit)d bytes.") % {"limit": MAX_EVENT_BYTES})
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        _refuse(_("The body is not valid UTF-8 JSON."))
    if not isinstance(document, dict):
        _refuse(_("The event must be a JSON object."))
    event_type = _text(document.get("event"), "event", max_length=64)
    data = document.get("data")
    if not isinstance(data, dict):
        _refuse(_("data must be an object."))
    signature = document.get("signature")
    if not isinstance(signature, dict):
        _refuse(_("signature must be an object."))
    properties = signature.get("properties")
    if (
        not isinstance(properties, list)
        or not 0 < len(properties) <= MAX_SIGNED_PROPERTIES
        or not all(isinstance(item, str) and item.strip() and len(item) <= MAX_TEXT for item in properties)
    ):
        _refuse(_("signature.properties must be a list of property names."))
    checksum = _text(signature.get("checksum"), "signature.checksum", required=False, max_length=128)
    timestamp = _whole_number(document.get("timestamp"), "timestamp")
    if timestamp > MAX_TIMESTAMP:
        _refuse(_("timestamp must be a Unix time in seconds."))
    environment = _text(document.get("environment"), "environment", required=False, max_length=16)
    if event_type == TRANSACTION_UPDATED:
        check_transaction(data.get("transaction"))
    return WompiEvent(
        event_type=event_type,
        data=data,
        properties=tuple(properties),
        body_checksum=checksum,
        timestamp=timestamp,
        environment=environment,
    )


def _as_signed_text(value, path):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    _refuse(_("signature.properties names %(path)s, which is not a string or a number.") % {"path": path})


def signed_values(event):
    """The values of the properties the signature names, read from `data` by their dotted paths."""
    values = []
    for path in event.properties:
        value = event.data
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                _refuse(
                    _("signature.properties names %(path)s, which the event's data does not have.") % {"path": path}
                )
            value = value[key]
        values.append(_as_signed_text(value, path))
    return values


def properties_refusal(event):
    """Why the properties the signature names are not the ones Wompi signs for this event type, or ''.

    Types Amparo does not act on are stored and ignored whatever their signature names.
    """
    expected = SIGNED_PROPERTIES.get(event.event_type)
    if expected is None or event.properties == expected:
        return ""
    return _("%(type)s events are signed over %(expected)s, in that order; this one names %(given)s.") % {
        "type": event.event_type,
        "expected": ", ".join(expected),
        "given": ", ".join(event.properties),
    }


def age_refusal(event, *, now, max_age):
    """Why the event is too old to be taken at `now` (an aware datetime; `max_age` a timedelta), or ''.

    Wompi resends an event for a day (30 minutes, 3 hours and 24 hours after it); one older than
    the window is a replay of something seen before.
    """
    if now.timestamp() - event.timestamp <= max_age.total_seconds():
        return ""
    return _("The event is too old: it was signed %(age)s ago, and events older than %(limit)s are refused.") % {
        "age": timesince(datetime.fromtimestamp(event.timestamp, UTC), now),
        "limit": timesince(now - max_age, now),
    }


def signed_transaction(event):
    """The signed part of a `transaction.updated` event whose properties passed `properties_refusal`."""
    transaction = event.transaction
    return SignedTransaction(
        id=transaction["id"], status=transaction["status"], amount_in_cents=transaction["amount_in_cents"]
    )


def checksum_is_valid(event, values, *, header_checksum, secret):
    """True when the body's `signature.checksum` or the X-Event-Checksum header is the event's checksum.

    Without an events secret nothing is valid: a checksum over public values alone is forgeable.
    """
    if not secret:
        return False
    expected = event_checksum(values=values, timestamp=event.timestamp, secret=secret)
    given = [candidate.strip().lower() for candidate in (event.body_checksum, header_checksum or "") if candidate]
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in given)


def event_id(event, values):
    """The id we store the event under.

    Wompi's events carry no id of their own. A resent event is the same body, so the event type,
    the signed values and the timestamp identify it; they are exactly what the checksum covers,
    so nobody without the events secret can make a different event that takes this id.
    """
    signed = "\x1f".join([event.event_type, str(event.timestamp), *values])
    return hashlib.sha256(signed.encode()).hexdigest()


def unverified_event_id(body):
    """The id of a delivery whose checksum is wrong: from the whole body and in a namespace of its
    own, so a forged event can never occupy the id of the genuine one that may follow."""
    return "unverified:" + hashlib.sha256(body).hexdigest()
