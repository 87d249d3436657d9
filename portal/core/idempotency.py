"""`Idempotency-Key` bookkeeping for creating endpoints: a retried request (a phone that lost the
answer) gets the first answer again instead of doing the work twice.

The record is written, and committed, before the work starts, so a second request with the key finds
it: with the same body while the first still runs it is refused (409), once the first succeeded it
gets its answer replayed, with another body it is refused (422). A request that did not succeed
leaves no record, so the same key may be tried again. A record whose request died mid-way (a killed
worker) is taken over after `AMPARO_API_IDEMPOTENCY_LEASE_SECONDS`; records are kept
`AMPARO_API_IDEMPOTENCY_TTL_HOURS`, then purged.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import IdempotencyRecord


class IdempotencyKeyInUse(Exception):
    """A request with this key and body is still running."""


class IdempotencyKeyReused(Exception):
    """This key was used for a different request."""


def _lease():
    return timedelta(seconds=settings.AMPARO_API_IDEMPOTENCY_LEASE_SECONDS)


def _ttl():
    return timedelta(hours=settings.AMPARO_API_IDEMPOTENCY_TTL_HOURS)


def idempotency_begin(*, user, key, fingerprint, now=None):
    """(record, replay): the record to complete after the work, or with `replay` True the completed
    record whose answer is the one to give. Raises IdempotencyKeyInUse or IdempotencyKeyReused."""
    now = now or timezone.now()
    with transaction.atomic():
        record, created = IdempotencyRecord.objects.get_or_create(
            user=user, key=key, defaults={"fingerprint": fingerprint, "created_at": now, "started_at": now}
        )
    if created:
        return record, False
    if record.created_at < now - _ttl():
        # Expired but not purged yet: the key is free again, whatever it was used for.
        taken = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
            fingerprint=fingerprint,
            state=IdempotencyRecord.State.IN_PROGRESS,
            response_status=None,
            response_body=None,
            created_at=now,
            started_at=now,
            completed_at=None,
        )
        if taken:
            record.refresh_from_db()
            return record, False
        raise IdempotencyKeyInUse(_("A request with this Idempotency-Key is still being processed. Try again shortly."))
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used for a different request. Use a new key for a new request.")
        )
    if record.state == IdempotencyRecord.State.COMPLETED:
        return record, True
    if record.started_at < now - _lease():
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS, started_at=record.started_at
        ).update(started_at=now)
        if taken:
            record.started_at = now
            return record, False
    raise IdempotencyKeyInUse(_("A request with this Idempotency-Key is still being processed. Try again shortly."))


def idempotency_complete(*, record, status, body, now=None):
    """Keep the successful answer of `record`'s request, to replay it."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=status,
        response_body=body,
        completed_at=now or timezone.now(),
    )


def idempotency_abandon(*, record):
    """Free the key of a request that did not succeed (it changed nothing), so it may be retried."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()


def idempotency_records_purge(*, now=None):
    """Delete the records older than the retention: how many were deleted."""
    now = now or timezone.now()
    return IdempotencyRecord.objects.filter(created_at__lt=now - _ttl()).delete()[0]
