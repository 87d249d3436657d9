"""The circuit breaker of each destination, kept in one database row that every relay process and
thread shares: when the core is down, nobody calls it until the wait is over, then exactly one caller
probes it (a conditional UPDATE decides who) and its answer closes the breaker or opens it for longer.
"""

from datetime import timedelta

from django.db import transaction

from .models import DestinationBreaker

State = DestinationBreaker.State
CLOSED, OPEN, PROBE = "closed", "open", "probe"


def _breaker(destination):
    breaker, _created = DestinationBreaker.objects.get_or_create(destination=destination)
    return breaker


def breaker_admission(destination, *, now, probe_seconds):
    """CLOSED: send. PROBE: the caller won the probe and must report its answer. OPEN: do not call."""
    breaker = _breaker(destination)
    if breaker.state == State.CLOSED:
        return CLOSED
    if breaker.state == State.OPEN and breaker.retry_at <= now:
        won = DestinationBreaker.objects.filter(pk=breaker.pk, state=State.OPEN, retry_at=breaker.retry_at).update(
            state=State.HALF_OPEN, probe_until=now + timedelta(seconds=probe_seconds), changed_at=now
        )
        return PROBE if won else OPEN
    if breaker.state == State.HALF_OPEN and breaker.probe_until is not None and breaker.probe_until <= now:
        # The prober never reported (its process died): another may probe.
        won = DestinationBreaker.objects.filter(
            pk=breaker.pk, state=State.HALF_OPEN, probe_until=breaker.probe_until
        ).update(probe_until=now + timedelta(seconds=probe_seconds), changed_at=now)
        return PROBE if won else OPEN
    return OPEN


def breaker_succeeded(destination, *, now):
    """An answer came back: the breaker closes and the failure count starts again (no write when it
    is already closed with no failures, the usual case)."""
    DestinationBreaker.objects.filter(destination=destination).exclude(state=State.CLOSED, failures=0).update(
        state=State.CLOSED,
        failures=0,
        retry_at=None,
        probe_until=None,
        cooldown_seconds=0,
        last_error="",
        changed_at=now,
    )


@transaction.atomic
def breaker_failed(destination, *, now, error, threshold, cooldown_seconds, max_cooldown_seconds, retry_after=None):
    """The destination failed (no answer, 5xx, 429). The breaker opens after `threshold` failures in a
    row, at once when a probe fails (waiting twice as long as the last time, up to the maximum), and
    for at least `retry_after` seconds when the core asked us to wait. Returns the breaker."""
    _breaker(destination)
    breaker = DestinationBreaker.objects.select_for_update().get(destination=destination)
    breaker.failures += 1
    breaker.last_error = (error or "")[:500]
    wait = None
    if breaker.state == State.HALF_OPEN:
        wait = min(max_cooldown_seconds, max(cooldown_seconds, breaker.cooldown_seconds * 2))
    elif breaker.state == State.CLOSED and breaker.failures >= threshold:
        wait = cooldown_seconds
    if retry_after:
        wait = max(wait or 0, retry_after)
    if wait is not None:
        retry_at = now + timedelta(seconds=wait)
        if breaker.state != State.OPEN or breaker.retry_at is None or retry_at > breaker.retry_at:
            breaker.retry_at = retry_at
        breaker.state = State.OPEN
        breaker.cooldown_seconds = round(wait)
        breaker.probe_until = None
        breaker.changed_at = now
    breaker.save()
    return breaker
