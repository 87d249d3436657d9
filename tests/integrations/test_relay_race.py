"""Two relay workers racing over the same outbox (threads with their own database connections, on
PostgreSQL row locks): every message reaches the core once, each policy's in order, never two of one
policy at the same time, even when the core answers out of order or loses answers."""

import threading

import pytest
from django.db import connection

from portal.integrations.models import Exchange
from portal.integrations.relay import relay_drain
from portal.outbox.models import OutboxMessage

POLICIES = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relay_workers_racing_deliver_each_message_once_in_each_policys_order(
    core, clock, settings, policy_history
):
    settings.OUTBOX_BATCH_SIZE = 4
    for _ in range(POLICIES):
        policy_history()
    # Answers out of order (some late, so later requests are answered first) and some lost.
    core.answer_late_next(6, seconds=0.05)
    core.drop_after_processing_next(2)
    core.answer_late_next(6, seconds=0.03)
    results, failures = [], []

    def worker():
        try:
            results.append(relay_drain(destination="casse", clock=clock, timeout=3600))
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)

    assert failures == []
    assert not any(thread.is_alive() for thread in workers)
    messages = OutboxMessage.objects.count()
    assert messages == POLICIES * 3
    assert set(OutboxMessage.objects.order_by().values_list("state", flat=True).distinct()) == {"ACKED"}
    assert sum(result["acked"] for result in results) == messages
    # The core's own log: every message took effect once, each policy's in sequence, one at a time.
    assert sorted(core.applied_keys().values()) == [1] * messages
    for number in OutboxMessage.objects.order_by().values_list("aggregate_id", flat=True).distinct():
        in_order = OutboxMessage.objects.filter(aggregate_id=number).order_by("sequence")
        assert [effect["key"] for effect in core.effects_of(number)] == [str(m.idempotency_key) for m in in_order]
    assert core.overlaps == []
    # Both workers did part of the work.
    assert Exchange.objects.exclude(message=None).order_by().values("worker").distinct().count() == 2
