"""The circuit breaker of a destination lives in one database row: failures counted by one worker open it
for every process, and when the wait is over exactly one caller probes the core."""

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from portal.integrations.breaker import OPEN, PROBE, breaker_admission, breaker_failed
from portal.integrations.models import DestinationBreaker
from portal.integrations.relay import relay_once
from portal.outbox.models import OutboxMessage

from .conftest import url_of_the_test_database

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_breaker_opens_after_the_failures_in_a_row_and_a_success_closes_it(
    core, drain, clock, settings, policy_history
):
    for _ in range(4):
        policy_history(endorse=False, pay=False)
    core.fail_next(settings.CASSE_BREAKER_FAILURES)
    clock.advance(seconds=5)

    relay_once(destination="casse", clock=clock)

    breaker = DestinationBreaker.objects.get(destination="casse")
    assert (breaker.state, breaker.failures) == ("OPEN", settings.CASSE_BREAKER_FAILURES)
    assert breaker.retry_at == clock.now() + timedelta(seconds=settings.CASSE_BREAKER_COOLDOWN_SECONDS)
    # The message after the third failure was given back unsent, its attempt not spent.
    assert OutboxMessage.objects.filter(state="PENDING", attempts=0).count() == 1
    writes = len(core.effects) + settings.CASSE_BREAKER_FAILURES
    relay_once(destination="casse", clock=clock)
    assert sum(request["method"] != "GET" and request["path"] != "/oauth/token" for request in core.requests) == writes

    drain()

    breaker.refresh_from_db()
    assert (breaker.state, breaker.failures) == ("CLOSED", 0)
    assert set(OutboxMessage.objects.order_by().values_list("state", flat=True).distinct()) == {"ACKED"}


def test_a_failed_probe_keeps_it_open_twice_as_long(db, clock):
    now = clock.now()
    options = {"threshold": 1, "cooldown_seconds": 30, "max_cooldown_seconds": 100}
    breaker_failed("casse", now=now, error="down", **options)
    assert breaker_admission("casse", now=now + timedelta(seconds=31), probe_seconds=60) == PROBE

    breaker = breaker_failed("casse", now=now + timedelta(seconds=31), error="still down", **options)
    assert (breaker.state, breaker.cooldown_seconds) == ("OPEN", 60)
    assert breaker_admission("casse", now=now + timedelta(seconds=90), probe_seconds=60) == OPEN
    assert breaker_admission("casse", now=now + timedelta(seconds=92), probe_seconds=60) == PROBE
    breaker = breaker_failed("casse", now=now + timedelta(seconds=92), error="still down", **options)
    assert (breaker.state, breaker.cooldown_seconds) == ("OPEN", 100)


def test_a_429_pauses_the_destination_for_as_long_as_the_core_asks(db, clock):
    breaker = breaker_failed(
        "casse",
        now=clock.now(),
        error="429",
        threshold=5,
        cooldown_seconds=30,
        max_cooldown_seconds=600,
        retry_after=300,
    )

    assert breaker.state == "OPEN"
    assert breaker_admission("casse", now=clock.now() + timedelta(seconds=299), probe_seconds=60) == OPEN
    assert breaker_admission("casse", now=clock.now() + timedelta(seconds=301), probe_seconds=60) == PROBE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_workers_probes_when_the_wait_is_over(clock):
    breaker_failed("casse", now=clock.now(), error="down", threshold=1, cooldown_seconds=30, max_cooldown_seconds=600)
    later = clock.now() + timedelta(seconds=31)
    answers, start = [], threading.Barrier(6)

    def worker():
        try:
            start.wait(5)
            answers.append(breaker_admission("casse", now=later, probe_seconds=60))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(answers) == [OPEN] * 5 + [PROBE]
    assert breaker_admission("casse", now=later, probe_seconds=60) == OPEN


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_breaker_opened_in_one_process_stops_a_relay_in_another(core, settings, policy_history):
    policy_history(endorse=False, pay=False)
    breaker_failed(
        "casse", now=timezone.now(), error="down", threshold=1, cooldown_seconds=600, max_cooldown_seconds=600
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": url_of_the_test_database(),
        **{name: str(value) for name, value in core.settings().items()},
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "outbox_relay"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (figures["sent"], figures["pending"]) == (0, 1)
    assert core.requests == []
    assert breaker_admission("casse", now=timezone.now(), probe_seconds=60) == OPEN
