"""Kill a relay half-way through a batch and start another: nothing is lost and nothing is done twice.

The relay runs in a real separate process (`manage.py outbox_relay --drain`) against the test
database and the local core; it is killed with SIGKILL while the core holds the answer to a write it
has already applied, so the dead relay leaves that message SENT without knowing it arrived. The next
relay takes it over once its lease ends, sends it again with the same idempotency key, and the core
answers with its first acknowledgement instead of doing the work again.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.outbox.models import OutboxMessage

from .conftest import url_of_the_test_database

ROOT = Path(__file__).resolve().parent.parent.parent
POLICIES = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_killed_mid_batch_loses_and_doubles_nothing_after_a_restart(core, settings, policy_history, tmp_path):
    for _ in range(POLICIES):
        policy_history()
    total = OutboxMessage.objects.count()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": url_of_the_test_database(),
        **{name: str(value) for name, value in core.settings().items()},
        "CASSE_READ_TIMEOUT_SECONDS": "30",
        "OUTBOX_BATCH_SIZE": "10",
        "OUTBOX_LEASE_SECONDS": "3",
    }

    def relay(name):
        output = (tmp_path / f"{name}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "manage.py", "outbox_relay", "--drain", "--timeout", "60"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def output_of(name):
        return (tmp_path / f"{name}.log").read_text(errors="replace")

    first = relay("first")
    try:
        deadline = time.monotonic() + 60
        while len(core.effects) < total // 3 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.005)
        core.hang_next(1, seconds=30)
        assert core.hanging.wait(30), "the relay never sent the write the core holds: " + output_of("first")[-2000:]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert first.returncode == -signal.SIGKILL

    applied_before_restart = len(core.effects)
    assert 0 < applied_before_restart < total
    in_flight = OutboxMessage.objects.filter(state="SENT")
    assert in_flight.exists(), "the killed relay left the message it was sending as SENT"
    held_key = str(core.effects[-1]["key"])
    assert in_flight.filter(idempotency_key=held_key).exists()

    second = relay("second")
    assert second.wait(90) == 0, output_of("second")[-3000:]
    figures = json.loads(output_of("second").strip().splitlines()[-1])

    assert set(figures) == {"sent", "acked", "failed", "dead", "pending", "seconds"}
    assert (figures["pending"], figures["dead"]) == (0, 0)
    assert OutboxMessage.objects.filter(state="ACKED").count() == total
    # Nothing lost, nothing doubled: every message took effect once, in its policy's order.
    assert sorted(core.applied_keys().values()) == [1] * total
    for number in OutboxMessage.objects.order_by().values_list("aggregate_id", flat=True).distinct():
        in_order = OutboxMessage.objects.filter(aggregate_id=number).order_by("sequence")
        assert [effect["key"] for effect in core.effects_of(number)] == [str(m.idempotency_key) for m in in_order]
    # The message the first relay died on was sent again and answered with the first acknowledgement.
    assert sum(request["key"] == held_key for request in core.requests) == 2
