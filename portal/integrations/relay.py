"""The outbox relay: delivers each destination's messages in order per aggregate, with an effect once.

How a message travels:

1. **Claim.** In a short transaction a worker selects due messages with `SELECT ... FOR UPDATE SKIP
   LOCKED` (so any number of workers, threads or processes share the work without waiting on each
   other), only the *head* of each aggregate: a message none of whose earlier messages (same
   destination and aggregate, lower sequence) is still unfinished. It marks them SENT with a lease
   and commits. While a message is SENT and its lease runs, no later message of its aggregate is a
   head, so only one message per aggregate and destination is ever in flight.
2. **Send.** Outside any transaction, the adapter sends it with its idempotency key; the attempt is
   logged before the request leaves (a worker that dies mid-request leaves it marked unanswered).
3. **Settle.** In a second transaction: an acknowledgement makes it ACKED (and records the core's
   reference on the policy or payment); a failure puts it back to PENDING after a backoff with
   jitter (at least what a 429's Retry-After asked), or DEAD after the destination's maximum
   attempts or at once when the core refuses it for good. A DEAD message stays the head of its
   aggregate, holding the later ones until a person retries or skips it.

A worker killed between claim and settle leaves its messages SENT until their lease ends; then any
worker claims them again and resends with the same idempotency key, so the core does the work once.
An acknowledgement is taken whenever it comes (a repeated one changes nothing); a failure is taken
only from the worker that holds the claim.

Time comes from a `clock` (real by default) so that tests can live through hours of downtime
without sleeping through them.
"""

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from portal.outbox.models import AggregateType, EventType, OutboxMessage
from portal.payments.services import payment_core_reference_record
from portal.policies.services import policy_core_reference_record

from .breaker import OPEN, PROBE, breaker_admission, breaker_failed, breaker_succeeded
from .destinations import adapter_for
from .models import DestinationBreaker, Outcome

logger = logging.getLogger(__name__)

State = OutboxMessage.State
PAYMENT_EVENTS = (EventType.PAYMENT_RECEIVED, EventType.PAYOUT_PAID)
EXCHANGE_ANSWER_FIELDS = ["outcome", "status_code", "response_headers", "response_body", "error", "duration_ms"]


class RealClock:
    def now(self):
        return timezone.now()

    def sleep(self, seconds):
        time.sleep(seconds)


REAL_CLOCK = RealClock()


@dataclass
class RelayCounts:
    sent: int = 0
    acked: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, other):
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self


def worker_name():
    """Who holds a claim: host, process, thread, and a token of this relay run."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:6]}"


def backoff_seconds(attempts, *, base, cap, retry_after=None, rng=random):
    """How long a message waits after its `attempts`-th failure: base x 2^(attempts-1), capped, half
    of it random ("equal jitter", so retries of many messages spread out), and never less than a
    Retry-After the core sent."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    wait = ceiling / 2 + rng.uniform(0, ceiling / 2)
    return max(wait, retry_after or 0)


def _earlier_unfinished():
    return OutboxMessage.objects.filter(
        destination=OuterRef("destination"),
        aggregate_type=OuterRef("aggregate_type"),
        aggregate_id=OuterRef("aggregate_id"),
        sequence__lt=OuterRef("sequence"),
    ).exclude(state__in=OutboxMessage.FINISHED)


def _heads(destination):
    """The open messages of `destination` with nothing unfinished before them in their aggregate."""
    return OutboxMessage.objects.filter(destination=destination, state__in=OutboxMessage.OPEN).filter(
        ~Exists(_earlier_unfinished())
    )


def _claim(destination, *, now, limit, worker, lease_seconds):
    due = Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENT, lease_until__lte=now)
    with transaction.atomic():
        messages = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(due, destination=destination)
            .filter(~Exists(_earlier_unfinished()))
            .order_by("id")[:limit]
        )
        if not messages:
            return []
        lease_until = now + timedelta(seconds=lease_seconds)
        OutboxMessage.objects.filter(pk__in=[message.pk for message in messages]).update(
            state=State.SENT, attempts=F("attempts") + 1, claimed_by=worker, lease_until=lease_until, sent_at=now
        )
    for message in messages:
        message.state, message.attempts, message.claimed_by = State.SENT, message.attempts + 1, worker
        message.lease_until, message.sent_at = lease_until, now
    return messages


def _release(messages, *, worker):
    """Give back claimed messages that were never sent (the breaker opened): as they were, no attempt spent."""
    OutboxMessage.objects.filter(
        pk__in=[message.pk for message in messages], state=State.SENT, claimed_by=worker
    ).update(state=State.PENDING, attempts=F("attempts") - 1, claimed_by="", lease_until=None)


def _record_reference(message, core_id):
    """The core's id for what the message was about, stored on the policy or the payment."""
    if not core_id:
        return
    if message.aggregate_type == AggregateType.POLICY and message.event_type in (
        EventType.POLICY_ISSUED,
        EventType.POLICY_RENEWED,
    ):
        policy_core_reference_record(policy_number=message.aggregate_id, reference=core_id)
    elif message.event_type in PAYMENT_EVENTS and message.payload.get("payment_id"):
        payment_core_reference_record(payment_id=message.payload["payment_id"], reference=core_id)


def _settle(message, answer, *, adapter, worker, now):
    """Record what became of one send; returns the message's new state, or None when the outcome was
    no longer ours to record (another worker took the message over, or it was already finished).
    Conditional UPDATEs: an acknowledgement finishes any unfinished message; a failure changes only a
    message this worker still holds."""
    this = OutboxMessage.objects.filter(pk=message.pk)
    released = {"claimed_by": "", "lease_until": None}
    with transaction.atomic():
        answer.exchange.save(update_fields=EXCHANGE_ANSWER_FIELDS)
        if answer.ok:
            if not this.filter(state__in=OutboxMessage.OPEN).update(
                state=State.ACKED, acked_at=now, finished_at=now, external_id=answer.core_id, last_error="", **released
            ):
                return None
            if adapter.records_references:
                _record_reference(message, answer.core_id)
            return State.ACKED
        ours = this.filter(state=State.SENT, claimed_by=worker)
        error = answer.error[:500]
        if answer.outcome == Outcome.REFUSED or message.attempts >= adapter.max_attempts:
            state = State.DEAD
            changed = ours.update(state=state, finished_at=now, last_error=error, **released)
        else:
            state = State.PENDING
            wait = backoff_seconds(
                message.attempts,
                base=adapter.retry_base_seconds,
                cap=adapter.retry_max_seconds,
                retry_after=answer.retry_after,
            )
            changed = ours.update(
                state=state, last_error=error, next_attempt_at=now + timedelta(seconds=wait), **released
            )
    if not changed:
        return None
    if state == State.DEAD:
        logger.warning(
            "outbox message dead",
            extra={"destination": message.destination, "outbox_message": message.pk, "aggregate": message.aggregate_id},
        )
    return state


def _breaker_failed(adapter, answer, now):
    return breaker_failed(
        adapter.name,
        now=now,
        error=answer.error,
        threshold=adapter.breaker_failures,
        cooldown_seconds=adapter.breaker_cooldown_seconds,
        max_cooldown_seconds=adapter.retry_max_seconds,
        retry_after=answer.retry_after,
    )


def relay_once(*, destination, clock=REAL_CLOCK, limit=None, adapter=None, worker=None):
    """One round: ask the breaker, claim up to `limit` due messages, send and settle them. Returns
    (counts, claimed): how many were claimed tells the caller whether more may be due right away."""
    adapter = adapter or adapter_for(destination)
    counts = RelayCounts()
    if not adapter.enabled():
        return counts, 0
    worker = worker or worker_name()
    lease_seconds = settings.OUTBOX_LEASE_SECONDS
    admission = breaker_admission(destination, now=clock.now(), probe_seconds=lease_seconds)
    if admission == OPEN:
        return counts, 0
    if admission == PROBE:
        answer = adapter.probe()
        if not answer.ok:
            _breaker_failed(adapter, answer, clock.now())
            return counts, 0
        breaker_succeeded(destination, now=clock.now())
    messages = _claim(
        destination,
        now=clock.now(),
        limit=limit or settings.OUTBOX_BATCH_SIZE,
        worker=worker,
        lease_seconds=lease_seconds,
    )
    # Failures in a row are counted in the breaker's row; the first success of a batch (and the first
    # after a failure) resets them, the others need not write.
    reset_due = True
    for index, message in enumerate(messages):
        answer = adapter.deliver(message, worker=worker)
        counts.sent += 1
        now = clock.now()
        state = _settle(message, answer, adapter=adapter, worker=worker, now=now)
        if answer.ok:
            counts.acked += state == State.ACKED
            if reset_due:
                breaker_succeeded(destination, now=now)
                reset_due = False
            continue
        reset_due = True
        counts.failed += 1
        counts.dead += state == State.DEAD
        if (
            answer.destination_failing
            and _breaker_failed(adapter, answer, now).state != DestinationBreaker.State.CLOSED
        ):
            _release(messages[index + 1 :], worker=worker)
            break
    return counts, len(messages)


def seconds_until_due(destination, *, now):
    """How long until some message of `destination` may be claimed (0: now), or None when none will
    be without a person (nothing open, or only messages held behind a DEAD one)."""
    due = _heads(destination).aggregate(
        pending=Min("next_attempt_at", filter=Q(state=State.PENDING)),
        leased=Min("lease_until", filter=Q(state=State.SENT)),
    )
    times = [when for when in due.values() if when is not None]
    if not times:
        return None
    when = min(times)
    breaker = DestinationBreaker.objects.filter(destination=destination).first()
    if breaker is not None and breaker.state != DestinationBreaker.State.CLOSED:
        when = max(when, breaker.probe_until or breaker.retry_at or when)
    return max(0.0, (when - now).total_seconds())


def open_messages(destination):
    return OutboxMessage.objects.filter(destination=destination, state__in=OutboxMessage.OPEN).count()


def relay_drain(*, destination, clock=REAL_CLOCK, timeout=None, limit=None, adapter=None, worker=None):
    """Deliver until nothing is due, waiting out backoffs, leases and the breaker (on `clock`), for at
    most `timeout` seconds of it. Returns the counts with `pending` (messages still open) and `seconds`."""
    adapter = adapter or adapter_for(destination)
    worker = worker or worker_name()
    started = clock.now()
    counts = RelayCounts()
    while adapter.enabled():
        round_counts, claimed = relay_once(
            destination=destination, clock=clock, limit=limit, adapter=adapter, worker=worker
        )
        counts.add(round_counts)
        if claimed:
            continue
        now = clock.now()
        wait = seconds_until_due(destination, now=now)
        if wait is None:
            break
        if timeout is not None:
            left = timeout - (now - started).total_seconds()
            if left <= 0:
                break
            wait = min(wait, left)
        # A lease or backoff ending "now" may still be a moment ahead of the database's view.
        clock.sleep(max(wait, 0.05))
    return {
        **asdict(counts),
        "pending": open_messages(destination),
        "seconds": round((clock.now() - started).total_seconds(), 3),
    }


def relay_pass(*, destination, clock=REAL_CLOCK, budget_seconds=50, adapter=None):
    """Deliver what is due now, without waiting for anything, for at most `budget_seconds` (the
    periodic task and the kick after a commit)."""
    adapter = adapter or adapter_for(destination)
    worker = worker_name()
    deadline = time.monotonic() + budget_seconds
    counts = RelayCounts()
    while time.monotonic() < deadline:
        round_counts, claimed = relay_once(destination=destination, clock=clock, adapter=adapter, worker=worker)
        counts.add(round_counts)
        if not claimed:
            break
    return counts
