"""A source's circuit breaker, whose state all worker processes share in one database row: a success
resets the failures, including one another process counted while the call was under way."""

import pytest

from portal.ingestion.sources.breaker import CircuitBreakerError, source_breaker
from portal.ingestion.sources.models import SourceBreaker

pytestmark = pytest.mark.django_db


def _lost_connection():
    raise ConnectionError


def test_a_success_resets_a_failure_another_process_counted_during_the_call():
    here = source_breaker("source:shared", fail_max=3, reset_timeout=60)
    elsewhere = source_breaker("source:shared", fail_max=3, reset_timeout=60)

    def answered_while_another_worker_fails():
        with pytest.raises(ConnectionError):
            elsewhere.call(_lost_connection)
        assert SourceBreaker.objects.get(key="source:shared").failures == 1
        return "page"

    assert here.call(answered_while_another_worker_fails) == "page"
    assert SourceBreaker.objects.get(key="source:shared").failures == 0


def test_failures_in_a_row_open_the_breaker_for_every_process():
    here = source_breaker("source:dead", fail_max=2, reset_timeout=60)
    with pytest.raises(ConnectionError):
        here.call(_lost_connection)
    with pytest.raises(CircuitBreakerError):
        here.call(_lost_connection)
    assert source_breaker("source:dead", fail_max=2, reset_timeout=60).current_state == "open"
