"""Each source's circuit breaker: pybreaker's state machine, with its state in one database row that
every worker process shares (`SourceBreaker`), so that a dead service is left alone by all of them
until the wait is over. Counters move by conditional UPDATEs, never read-modify-write in Python."""

from django.db.models import F
from pybreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerStorage

from .models import SourceBreaker

__all__ = ["CircuitBreakerError", "source_breaker"]


class DatabaseBreakerStorage(CircuitBreakerStorage):
    def __init__(self, key):
        super().__init__(key)
        self.key = key
        SourceBreaker.objects.get_or_create(key=key)

    def _rows(self):
        return SourceBreaker.objects.filter(key=self.key)

    def _value(self, name):
        return self._rows().values_list(name, flat=True).first()

    @property
    def state(self):
        return self._rows().values_list("state", flat=True).first() or "closed"

    @state.setter
    def state(self, state):
        self._rows().update(state=state)

    def increment_counter(self):
        self._rows().update(failures=F("failures") + 1)

    def reset_counter(self):
        # pybreaker resets after every success: the condition makes the usual case (nothing to reset)
        # an UPDATE of no row, and a failure another process counted meanwhile is still reset.
        self._rows().filter(failures__gt=0).update(failures=0)

    def increment_success_counter(self):
        self._rows().update(successes=F("successes") + 1)

    def reset_success_counter(self):
        self._rows().update(successes=0)

    @property
    def counter(self):
        return self._value("failures") or 0

    @property
    def success_counter(self):
        return self._value("successes") or 0

    @property
    def opened_at(self):
        return self._value("opened_at")  # aware, as pybreaker's own datetime.now(UTC)

    @opened_at.setter
    def opened_at(self, value):
        self._rows().update(opened_at=value)


def source_breaker(key, *, fail_max, reset_timeout, listeners=(), exclude=()):
    """The breaker of the source known by `key`: it opens after `fail_max` failures in a row and lets
    one call through after `reset_timeout` seconds. Exceptions in `exclude` are answers, not failures."""
    return CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        state_storage=DatabaseBreakerStorage(key),
        name=key,
        listeners=list(listeners),
        exclude=list(exclude),
    )
