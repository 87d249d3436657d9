"""A person issuing a policy never waits for the core: issuance writes its message and returns, and
takes the same time whether the core is up or down (while a relay keeps trying it in the background)."""

import statistics
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from portal.integrations.relay import REAL_CLOCK, relay_drain
from portal.outbox.models import OutboxMessage
from portal.policies.services import policy_issue, quote_accept
from tests.factories import ProductFactory, make_quote

POLICIES = 12


def issuance_times(product, count):
    """Seconds each `policy_issue` took (the quote is made and accepted beforehand)."""
    quotes = [make_quote(product=product) for _ in range(count)]
    accepted = [quote_accept(quote=quote, actor=quote.customer.agent) for quote in quotes]
    times = []
    for quote in accepted:
        started = time.perf_counter()
        policy_issue(quote=quote, actor=quote.customer.agent)
        times.append(time.perf_counter() - started)
    return times


def with_a_relay_running(function):
    """Run `function` while another thread keeps relaying to the core, as the worker would."""
    stop = threading.Event()

    def relay():
        try:
            while not stop.is_set():
                relay_drain(destination="casse", clock=REAL_CLOCK, timeout=0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=relay)
    thread.start()
    try:
        return function()
    finally:
        stop.set()
        thread.join(30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_issuing_a_policy_takes_as_long_with_the_core_down_as_with_it_up(core, clock, settings):
    settings.CASSE_CONNECT_TIMEOUT_SECONDS = 2
    settings.CASSE_READ_TIMEOUT_SECONDS = 2
    product = ProductFactory()
    issuance_times(product, 3)  # warm-up: caches, the product's sequences

    up = with_a_relay_running(lambda: issuance_times(product, POLICIES))
    core.go_down(until=clock.now() + timedelta(days=1))
    requests_before = len(core.requests)
    down = with_a_relay_running(lambda: issuance_times(product, POLICIES))

    assert len(core.requests) > requests_before, "the relay kept trying the core while it was down"
    assert OutboxMessage.objects.filter(state="PENDING").count() >= POLICIES
    up_p50, down_p50 = statistics.median(up), statistics.median(down)
    assert down_p50 < up_p50 * 1.5 + 0.010, (up_p50, down_p50)
    assert max(down) < 1.0
