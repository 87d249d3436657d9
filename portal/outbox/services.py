"""Writing to the outbox: one call from the service that makes the change, inside its transaction."""

from django.core.cache import cache
from django.db import connection, transaction

from portal.core.request_context import current_request_context
from portal.core.tasks import enqueue

from . import destinations
from .models import OutboxAggregate, OutboxMessage

# Kicks are folded: at most one per destination and second is queued, whatever the commits; the
# relay's periodic run delivers anything a folded kick left behind.
KICK_FOLD_SECONDS = 1


def _next_sequence(*, destination, aggregate_type, aggregate_id):
    """The aggregate's next sequence for `destination`: one upsert, whose row lock is held until the
    caller commits, so a second writer of the same aggregate waits and numbers after it."""
    table = connection.ops.quote_name(OutboxAggregate._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (destination, aggregate_type, aggregate_id, last_sequence) "  # noqa: S608 - our table
            f"VALUES (%s, %s, %s, 1) ON CONFLICT (destination, aggregate_type, aggregate_id) "
            f"DO UPDATE SET last_sequence = {table}.last_sequence + 1 RETURNING last_sequence",
            [destination, aggregate_type, aggregate_id],
        )
        return cursor.fetchone()[0]


def _kick(destination):
    if destination.kick_task and cache.add(f"outbox-kick:{destination.name}", 1, timeout=KICK_FOLD_SECONDS):
        enqueue(destination.kick_task, destination=destination.name)


@transaction.atomic
def outbox_publish(*, event_type, aggregate_type, aggregate_id, payload, to=None):
    """Write `event_type` about the aggregate (a policy or loan number) for every destination that is
    configured and takes it, in the caller's transaction; returns the messages written (none when no
    destination is configured: sync is off).

    `payload` is the event in Amparo's own words (JSON-ready: amounts and dates as strings), or a
    function that makes it, called only when some destination takes the event. `to`
    names the destinations instead (the demo data writes for one that is not configured).
    """
    targets = [destinations.get(name) for name in to] if to is not None else destinations.enabled_for(event_type)
    if not targets:
        return []
    if callable(payload):
        payload = payload()
    correlation_id = current_request_context().correlation_id
    messages = []
    for destination in targets:
        sequence = _next_sequence(
            destination=destination.name, aggregate_type=aggregate_type, aggregate_id=aggregate_id
        )
        messages.append(
            OutboxMessage.objects.create(
                destination=destination.name,
                event_type=event_type,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                sequence=sequence,
                payload=payload,
                correlation_id=correlation_id,
            )
        )
        if to is None:
            transaction.on_commit(lambda destination=destination: _kick(destination), robust=True)
    return messages
