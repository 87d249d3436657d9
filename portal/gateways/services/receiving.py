"""Receiving a Wompi event: a delivery is verified and stored in a short transaction of its own and
answered at once; the worker applies it right after (gateways/apply.py)."""

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.core.request_context import current_request_context
from portal.core.tasks import enqueue_on_commit

from .. import events
from ..models import GatewayTransaction, WebhookEvent

logger = logging.getLogger(__name__)
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status


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
    # The event is stored whatever happens to the queue; webhook_events_process_pending applies an
    # event whose task never ran.
    enqueue_on_commit("portal.gateways.tasks.webhook_event_process_task", webhook_event_id=stored)
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
