"""Wompi events through the real webhook view on PostgreSQL, sustained, from concurrent threads.

    python -m bench webhooks [--events N] [--threads N] [--workers N] [--customers N]
                             [--confirm-approvals on|off]

Builds a book of customers, each with a policy paid monthly (open instalments), through the real
services (once; reruns reuse it), then one pending online payment per event, spread over them, each
approved at the local Wompi (tests/wompi_server.py), a real HTTP server on this machine that the
worker asks GET /transactions/{id} before an approval becomes a payment (WOMPI_CONFIRM_APPROVALS,
on unless `--confirm-approvals off`). Wompi's real latency is not modelled: each confirmation costs
the round trip to a server on the same machine, which competes with the workers for the same cores.

`events_per_s`: threads post signed `transaction.updated` APPROVED events, each with its own Django
test client through the whole middleware stack; every event is verified, stored raw and its task
queued (HUEY_URL: the queue the deployment uses), which is all the view does before answering.
`duplicates_per_s`: every event is delivered again, as Wompi resends until it gets a 200.
`applied_per_s`: worker threads then apply the stored events as the huey consumer does: the
confirmation with Wompi (when on), then the status change, the payment allocated to the oldest open
instalments, its ledger entry, the receipt, the audit events, one transaction each.

The peer is the floor of storing a webhook at all: one INSERT of the same raw payload per
autocommitted transaction, from as many threads, on the same database.
"""

import argparse
import queue
import secrets
import statistics
import sys
import threading
import time

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.customers.services import customer_create
from portal.gateways.apply import webhook_event_process
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.payments.models import Payment
from portal.policies.demo import seed_demo_policies
from portal.policies.models import PaymentFrequency, Product
from portal.policies.services import policy_issue, quote_accept, quote_create
from tests.wompi_server import FakeWompi

from .common import emit, ensure_database

TARGET_EVENTS_PER_S = 300
PEER_TABLE = "bench_webhook_raw_insert"
BOOK_EMAIL = "@webhooks.bench"


def say(message):
    print(f"[bench webhooks] {message}", file=sys.stderr, flush=True)


def _book(count):
    """`count` customers, each with a policy paid monthly (open instalments), made through the real services once."""
    customers = list(Customer.objects.filter(email_primary__endswith=BOOK_EMAIL).order_by("pk"))
    if len(customers) >= count:
        return customers[:count]
    agent = User.objects.get(email_primary="agent@amparo.demo")
    product = Product.objects.get(code="AUTO")
    today = timezone.localdate()
    for number in range(len(customers), count):
        customer = customer_create(
            actor=agent,
            agent=agent,
            full_name=f"Pagador en línea {number:04d}",
            id_type="CC",
            id_number=f"77{number:08d}",
            email_primary=f"pagador{number:04d}{BOOK_EMAIL}",
        )
        quote = quote_create(
            actor=agent,
            customer=customer,
            product=product,
            start_date=today,
            sum_insured="90000000",
            coverage_codes=["RC", "PT"],
            payment_frequency=PaymentFrequency.MONTHLY,
        )
        policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
        customers.append(customer)
    return customers


def _pending_payments(customers, count, run, wompi):
    """`count` Nequi payments sent to Wompi and still pending here, spread over `customers`; Wompi has
    approved each of them."""
    GatewayTransaction.objects.bulk_create(
        [
            GatewayTransaction(
                reference=f"BENCH-{run}-{number:06d}",
                customer=customers[number % len(customers)],
                amount_in_cents=(40_000 + number % 100) * 100,
                currency="COP",
                method="NEQUI",
                method_details={"phone_number": "3991111111"},
                wompi_id=f"{number}-{run}-bench",
            )
            for number in range(count)
        ],
        batch_size=1000,
    )
    attempts = list(
        GatewayTransaction.objects.filter(reference__startswith=f"BENCH-{run}-")
        .select_related("customer")
        .order_by("pk")
    )
    for attempt in attempts:
        wompi.add_settled_transaction(
            wompi_id=attempt.wompi_id,
            reference=attempt.reference,
            amount_in_cents=attempt.amount_in_cents,
            customer_email=attempt.customer.email_primary,
        )
    return attempts


def _post_all(deliveries, threads):
    """POST every delivery from `threads` threads; (seconds, per-request ms, outcomes, failures)."""
    url = reverse("api:wompi_webhook")
    work = queue.Queue()
    for delivery in deliveries:
        work.put(delivery)
    barrier = threading.Barrier(threads + 1)
    samples, outcomes, failures = [], [], []
    lock = threading.Lock()

    def run():
        client = Client()
        mine, seen, wrong = [], [], []
        barrier.wait()
        while True:
            try:
                body, headers = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            response = client.post(url, data=body, content_type="application/json", headers=headers)
            mine.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                wrong.append(response.status_code)
            else:
                seen.append(response.json()["status"])
        connection.close()
        with lock:
            samples.extend(mine)
            outcomes.extend(seen)
            failures.extend(wrong)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, sorted(samples), outcomes, failures


def _peer_inserts(payloads, threads):
    """Seconds to INSERT every payload, one autocommitted row each, from `threads` threads."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PEER_TABLE} (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, "
            "payload text NOT NULL)"
        )
        cursor.execute(f"TRUNCATE {PEER_TABLE}")
    work = queue.Queue()
    for payload in payloads:
        work.put(payload)
    barrier = threading.Barrier(threads + 1)

    def run():
        with connection.cursor() as cursor:
            barrier.wait()
            while True:
                try:
                    payload = work.get_nowait()
                except queue.Empty:
                    break
                cursor.execute(f"INSERT INTO {PEER_TABLE} (received_at, payload) VALUES (now(), %s)", [payload])  # noqa: S608
        connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def _queries_per_event(deliveries):
    client = Client()
    url = reverse("api:wompi_webhook")
    with CaptureQueriesContext(connection) as queries:
        for body, headers in deliveries:
            client.post(url, data=body, content_type="application/json", headers=headers)
    return round(len(queries) / len(deliveries), 1)


def _queries_per_application(event_ids):
    with CaptureQueriesContext(connection) as queries:
        for webhook_event_id in event_ids:
            webhook_event_process(webhook_event_id=webhook_event_id)
    return round(len(queries) / len(event_ids), 1)


def _apply_all(event_ids, threads):
    """Seconds for `threads` worker threads to apply every stored event, as the huey consumer's do."""
    work = queue.Queue()
    for webhook_event_id in event_ids:
        work.put(webhook_event_id)
    barrier = threading.Barrier(threads + 1)

    def run():
        barrier.wait()
        while True:
            try:
                webhook_event_id = work.get_nowait()
            except queue.Empty:
                break
            webhook_event_process(webhook_event_id=webhook_event_id)
        connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def _confirmations(wompi):
    """How many GET /transactions/{id} the local Wompi has answered."""
    return sum(1 for method, path in list(wompi.requests) if method == "GET" and path.startswith("/v1/transactions/"))


def _percentile(samples, share):
    return round(samples[max(0, int(len(samples) * share) - 1)], 2)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench webhooks")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4, help="threads posting to the webhook view")
    parser.add_argument("--workers", type=int, default=2, help="worker threads applying the stored events")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--confirm-approvals",
        choices=["on", "off"],
        default="on" if settings.WOMPI_CONFIRM_APPROVALS else "off",
        help="ask the local Wompi to confirm each approval before recording its payment",
    )
    args = parser.parse_args(argv)

    ensure_database()
    wompi = FakeWompi().start()
    for name, value in wompi.settings().items():
        setattr(settings, name, value)
    settings.WOMPI_CONFIRM_APPROVALS = args.confirm_approvals == "on"
    # Tasks go to the configured queue (HUEY_URL), as in production; the worker's part is timed apart.
    HUEY.immediate = False
    say("building the book")
    seed_demo_users()
    seed_demo_policies()
    customers = _book(args.customers)
    run = secrets.token_hex(3)
    sample = 20
    attempts = _pending_payments(customers, args.events + sample, run, wompi)
    timestamp = int(time.time())
    deliveries = [wompi.event(attempt.wompi_id, timestamp=timestamp) for attempt in attempts]
    measured, probe = deliveries[:-sample], deliveries[-sample:]
    say(f"{len(measured)} events over {len(customers)} customers, {args.threads} threads posting")

    queries = _queries_per_event(probe)
    seconds, samples, outcomes, failures = _post_all(measured, args.threads)
    repeat_seconds, repeat_samples, repeat_outcomes, repeat_failures = _post_all(measured, args.threads)
    stored = WebhookEvent.objects.filter(reference__startswith=f"BENCH-{run}-")
    received = list(stored.filter(status=WebhookEvent.Status.RECEIVED).order_by("pk").values_list("pk", flat=True))
    say(f"applying {len(received)} stored events with {args.workers} worker threads")
    apply_queries = _queries_per_application(received[:sample])
    asked_before = _confirmations(wompi)
    apply_seconds = _apply_all(received[sample:], args.workers)
    confirmations = _confirmations(wompi) - asked_before
    wompi.stop()
    peer_seconds = _peer_inserts([body.decode() for body, _headers in measured], args.threads)
    # The queued tasks (applying events, emailing receipts) are about the benchmark's own rows: the
    # test settings' queue is "amparo-test", never the portal's.
    HUEY.flush()

    events_per_s = round(len(measured) / seconds, 1)
    peer_per_s = round(len(measured) / peer_seconds, 1)
    emit(
        {
            "benchmark": "wompi_webhooks",
            "events": len(measured),
            "threads": args.threads,
            "events_per_s": events_per_s,
            "target_events_per_s": TARGET_EVENTS_PER_S,
            "p50_ms": round(statistics.median(samples), 2),
            "p95_ms": _percentile(samples, 0.95),
            "queries_per_event": queries,
            "received": outcomes.count("received"),
            "non_200": len(failures) + len(repeat_failures),
            "duplicates_per_s": round(len(measured) / repeat_seconds, 1),
            "duplicates_p50_ms": round(statistics.median(repeat_samples), 2),
            "duplicates_recognised": repeat_outcomes.count("duplicate"),
            "workers": args.workers,
            "applied_per_s": round((len(received) - sample) / apply_seconds, 1),
            "confirm_approvals": settings.WOMPI_CONFIRM_APPROVALS,
            "wompi_confirmations": confirmations,
            "queries_per_application": apply_queries,
            "processed": stored.filter(status=WebhookEvent.Status.PROCESSED).count(),
            "payments_recorded": Payment.objects.filter(reference__startswith=f"BENCH-{run}-").count(),
            "peer_insert_per_s": peer_per_s,
            "ratio": round(events_per_s / peer_per_s, 3),
        }
    )
