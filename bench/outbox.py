"""The outbox to the insurer's core: 10,000 policy events through 2 relay worker processes to a local core.

    python -m bench outbox [--events N] [--workers N] [--steady N] [--issuances N]

Builds `--events` policies in bulk (`seed_demo --scale`, once; reruns reuse them) and a local core
(tests/integrations/casse_server.py) in a process of its own. Then, at the same time:

- the writer commits one policy event per transaction, through `outbox_publish` as the policy
  services do (the per-policy sequence upsert and the message insert), as fast as it can;
- `--workers` relay processes deliver them (SKIP LOCKED claims, one HTTP PUT per message, settle).

`messages_per_s`: events over the seconds from the first commit to the last acknowledgement.
`lag_p50_ms` / `lag_p95_ms`: from each event's commit to its acknowledgement (the relay's clock);
while one writer outpaces the relay this is mostly time spent queued. `steady_lag_*`: the same for
`--steady` more events written at half the measured rate: the lag of a relay that keeps up.
Then `--issuances` policies are issued through `policy_issue` with the core up and as many with the
core down (it drops every connection; the relay workers keep trying it), in alternating turns so that
both see the same machine: the p50 of each.

The peer is what an outbox replaces: the same issuance followed, in the request, by the core's PUT
(core up); with the core down such a request would wait for its timeouts or fail.
"""

import argparse
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.customers.services import customer_create
from portal.integrations.casse import CasseClient, request_for
from portal.integrations.models import DestinationBreaker, Exchange
from portal.integrations.relay import relay_once
from portal.outbox.models import AggregateType, EventType, OutboxAggregate, OutboxMessage
from portal.outbox.services import outbox_publish
from portal.policies.demo import seed_demo_policies, seed_scale_policies
from portal.policies.events import policy_snapshot
from portal.policies.models import Policy, Product
from portal.policies.services import policy_issue, quote_accept, quote_create
from tests.integrations.casse_server import CLIENT_ID, FakeCore, core_settings

from .common import emit, ensure_database

SCALE_EMAIL = "@scale.policies.demo"


def say(message):
    print(f"[bench outbox] {message}", file=sys.stderr, flush=True)


class _SwitchableCore(FakeCore):
    """The local core, down while `down` (shared with the bench process) is set."""

    def __init__(self, down):
        super().__init__(client_id=CLIENT_ID)
        self._down = down

    def is_down(self):
        return self._down.is_set()


def _serve_core(down, stop, answers):
    core = _SwitchableCore(down).start()
    answers.put(core.root)
    stop.wait()
    counts = core.applied_keys()
    answers.put({"effects": len(core.effects), "applied_twice": sum(1 for count in counts.values() if count > 1)})
    core.stop()


def _relay_worker(stop):
    """A relay process: claim and deliver until told to stop and nothing is left to claim."""
    worker_idle = 0.02
    while True:
        _counts, claimed = relay_once(destination="casse")
        if claimed:
            continue
        if stop.is_set() and not OutboxMessage.objects.filter(state__in=OutboxMessage.OPEN).exists():
            break
        time.sleep(worker_idle)
    connection.close()


def _reset():
    for model in (Exchange, OutboxMessage, OutboxAggregate, DestinationBreaker):
        model.objects.all().delete()


def _write_events(policies, *, per_second=None):
    """One event per transaction, as a service writes it (at most `per_second`); {message id: commit time}."""
    committed = {}
    today = timezone.localdate()
    started = time.monotonic()
    for number, policy in enumerate(policies):
        if per_second:
            ahead = started + number / per_second - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        with transaction.atomic():
            (message,) = outbox_publish(
                event_type=EventType.POLICY_ISSUED,
                aggregate_type=AggregateType.POLICY,
                aggregate_id=policy.number,
                payload=policy_snapshot(policy, on=today),
            )
        committed[message.pk] = datetime.now(UTC)
    return committed


def _wait_until_acked(ids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not OutboxMessage.objects.filter(pk__in=ids).exclude(state=OutboxMessage.State.ACKED).exists():
            return True
        time.sleep(0.2)
    return False


def _lags(committed, timeout):
    """(delivered, sorted commit-to-acknowledgement lags in ms, seconds from the first commit to the last
    acknowledgement)."""
    delivered = _wait_until_acked(list(committed), timeout=timeout)
    acked = dict(OutboxMessage.objects.filter(pk__in=list(committed)).values_list("pk", "acked_at"))
    lags = sorted((acked[pk] - committed[pk]).total_seconds() * 1000 for pk in committed if acked.get(pk))
    span = (max(value for value in acked.values() if value) - min(committed.values())).total_seconds()
    return delivered, lags, span


def _issuance_ms(count, *, agent, product, then=None):
    """Milliseconds of each `policy_issue` (quotes made and accepted beforehand), each followed by
    `then(policy)` when given."""
    quotes = []
    for number in range(count):
        customer = customer_create(
            actor=agent,
            agent=agent,
            full_name=f"Cliente outbox {time.time_ns()}-{number}",
            id_type="CC",
            id_number=f"9{time.time_ns() % 10**9:09d}{number:03d}"[:15],
        )
        quote = quote_create(
            actor=agent,
            customer=customer,
            product=product,
            start_date=timezone.localdate(),
            sum_insured="90000000",
            coverage_codes=["RC", "PT"],
        )
        quotes.append(quote_accept(quote=quote, actor=agent))
    samples = []
    for quote in quotes:
        started = time.perf_counter()
        policy = policy_issue(quote=quote, actor=agent)
        if then is not None:
            then(policy)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _synchronous_put(session):
    """The peer's call in the request: the issuance's PUT straight to the core."""
    client = CasseClient(session=session)
    token = client._token()

    def put(policy):
        message = OutboxMessage.objects.filter(aggregate_id=policy.number).order_by("-sequence").first()
        method, path, body = request_for(message)
        session.request(
            method,
            f"{client.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"peer-{message.idempotency_key}"},
            timeout=client.timeout,
        ).raise_for_status()

    return put


def _percentile(samples, share):
    return round(samples[max(0, int(len(samples) * share) - 1)], 1)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench outbox")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steady", type=int, default=1000, help="events then written at half the measured rate")
    parser.add_argument("--issuances", type=int, default=100)
    args = parser.parse_args(argv)

    ensure_database()
    say("building the book")
    seed_demo_users()
    seed_demo_policies()
    seed_scale_policies(args.events + args.steady)
    _reset()
    policies = list(
        Policy.objects.filter(customer__email_primary__endswith=SCALE_EMAIL)
        .select_related("current_version", "customer", "product", "renewal_of")
        .order_by("pk")[: args.events + args.steady]
    )

    context = multiprocessing.get_context("fork")
    down, stop_core, answers = context.Event(), context.Event(), context.Queue()
    connections.close_all()
    core_process = context.Process(target=_serve_core, args=(down, stop_core, answers), daemon=True)
    core_process.start()
    root = answers.get(timeout=30)
    local = core_settings(
        root, CASSE_READ_TIMEOUT_SECONDS=5.0, CASSE_RETRY_BASE_SECONDS=2, CASSE_BREAKER_COOLDOWN_SECONDS=2
    )
    for name, value in local.items():
        setattr(settings, name, value)
    # Kicks after commit wait in the configured queue (the workers below do the relaying).
    HUEY.immediate = False

    stop_workers = context.Event()
    connections.close_all()
    workers = [context.Process(target=_relay_worker, args=(stop_workers,), daemon=True) for _ in range(args.workers)]
    for worker in workers:
        worker.start()

    burst, paced = policies[: args.events], policies[args.events :]
    say(f"writing {len(burst)} policy events as fast as one writer can, {args.workers} relay workers delivering")
    started = time.monotonic()
    committed = _write_events(burst)
    write_seconds = time.monotonic() - started
    delivered, lags, span = _lags(committed, timeout=900)
    rate = len(lags) / span
    steady_rate = round(rate / 2, 1)
    say(f"writing {len(paced)} more at {steady_rate}/s, half the rate the relay kept")
    steady_delivered, steady_lags, _span = _lags(_write_events(paced, per_second=steady_rate), timeout=900)

    agent = User.objects.get(email_primary="agent@amparo.demo")
    product = Product.objects.get(code="AUTO")
    say(f"issuing {args.issuances} policies with the core up and {args.issuances} with it down, in turns")
    up, down_samples = [], []
    turn = max(1, args.issuances // 5)
    for _turn in range(0, args.issuances, turn):
        up += _issuance_ms(turn, agent=agent, product=product)
        down.set()
        down_samples += _issuance_ms(turn, agent=agent, product=product)
        down.clear()
    peer = _issuance_ms(args.issuances, agent=agent, product=product, then=_synchronous_put(requests.Session()))
    up_p50, down_p50 = statistics.median(up), statistics.median(down_samples)

    stop_workers.set()
    for worker in workers:
        worker.join(600)
    stop_core.set()
    core = answers.get(timeout=30)
    core_process.join(30)
    HUEY.flush()

    emit(
        {
            "benchmark": "outbox",
            "events": len(committed),
            "workers": args.workers,
            "delivered": delivered and steady_delivered,
            "messages_per_s": round(rate, 1),
            "write_per_s": round(len(committed) / write_seconds, 1),
            "lag_p50_ms": round(statistics.median(lags), 1),
            "lag_p95_ms": _percentile(lags, 0.95),
            "steady_events": len(steady_lags),
            "steady_per_s": steady_rate,
            "steady_lag_p50_ms": round(statistics.median(steady_lags), 1),
            "steady_lag_p95_ms": _percentile(steady_lags, 0.95),
            "dead": OutboxMessage.objects.filter(state=OutboxMessage.State.DEAD).count(),
            "core_effects": core["effects"],
            "core_applied_twice": core["applied_twice"],
            "issuances": len(up),
            "issuance_p50_ms_core_up": round(up_p50, 2),
            "issuance_p50_ms_core_down": round(down_p50, 2),
            "ratio_down_up": round(down_p50 / up_p50, 3),
            "peer_issuance_with_put_in_request_p50_ms": round(statistics.median(peer), 2),
        }
    )
