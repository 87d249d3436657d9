"""Wompi resends an event until it gets a 200, and several deliveries of one event may arrive at
once. Real threads through the real view against PostgreSQL: each event is stored once and applied
exactly once (huey runs each queued task at once here, in the thread that queued it), with no
deadlock and no server error."""

import queue
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from portal.gateways.apply import webhook_event_process
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.gateways.services import online_payment_start
from portal.payments.models import LedgerEntry, Payment, PaymentAllocation, Receipt

from .factories import CustomerFactory
from .wompi_server import APPROVING_NEQUI

URL = reverse("api:wompi_webhook")
EVENTS = 20
COPIES = 10
THREADS = 20


def settled_attempts(wompi, agent, count):
    """`count` Nequi payments Wompi approved; four customers share them, so their accounts are contended."""
    customers = [CustomerFactory(agent=agent) for _ in range(4)]
    attempts = []
    for number in range(count):
        attempt = online_payment_start(
            customer=customers[number % len(customers)],
            amount=Decimal(10_000 + number),
            currency="COP",
            method="NEQUI",
            method_details={"phone_number": APPROVING_NEQUI},
            actor=agent,
        )
        wompi.settle(attempt.wompi_id)
        attempts.append(attempt)
    return attempts


def deliver_concurrently(deliveries, threads=THREADS):
    """POST every (body, headers) from `threads` threads, each with its own test client and database
    connection, all starting together; (statuses and answers, errors)."""
    work = queue.Queue()
    for delivery in deliveries:
        work.put(delivery)
    barrier = threading.Barrier(threads)
    answers, errors = [], []
    lock = threading.Lock()

    def run():
        client = Client()
        try:
            barrier.wait(timeout=30)
            while True:
                try:
                    body, headers = work.get_nowait()
                except queue.Empty:
                    return
                response = client.post(URL, data=body, content_type="application/json", headers=headers)
                with lock:
                    answers.append((response.status_code, response.json().get("status")))
        except Exception as error:  # every failure is collected and asserted on by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    assert not any(worker.is_alive() for worker in workers), "a delivery never finished (deadlock?)"
    return answers, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_deliveries_of_20_events_apply_exactly_20(wompi, agent):
    attempts = settled_attempts(wompi, agent, EVENTS)
    events = [wompi.event(attempt.wompi_id) for attempt in attempts]
    deliveries = events * COPIES
    random.Random(5).shuffle(deliveries)

    answers, errors = deliver_concurrently(deliveries)

    assert errors == []
    assert len(answers) == EVENTS * COPIES
    assert {status for status, _outcome in answers} == {200}
    outcomes = [outcome for _status, outcome in answers]
    assert outcomes.count("received") == EVENTS
    assert outcomes.count("duplicate") == EVENTS * (COPIES - 1)
    assert Payment.objects.count() == EVENTS
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == EVENTS
    assert Receipt.objects.count() == EVENTS
    assert set(Payment.objects.values_list("reference", flat=True)) == {attempt.reference for attempt in attempts}
    assert not GatewayTransaction.objects.exclude(status=GatewayTransaction.Status.APPROVED).exists()
    assert not GatewayTransaction.objects.filter(payment__isnull=True).exists()
    stored = WebhookEvent.objects.all()
    assert len(stored) == EVENTS
    assert {event.status for event in stored} == {WebhookEvent.Status.PROCESSED}
    assert sum(event.deliveries for event in stored) == EVENTS * COPIES
    for attempt in attempts:
        payment = Payment.objects.get(reference=attempt.reference)
        assert payment.amount == attempt.amount
        allocated = sum(allocation.amount for allocation in PaymentAllocation.objects.filter(payment=payment))
        assert allocated <= payment.amount


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_approval_and_a_decline_racing_for_one_transaction_leave_one_consistent_outcome(wompi, agent):
    attempts = settled_attempts(wompi, agent, 5)
    signed_at = int(time.time()) - 60
    deliveries = []
    for attempt in attempts:
        deliveries += [wompi.event(attempt.wompi_id, timestamp=signed_at)] * 4
        deliveries += [wompi.event(attempt.wompi_id, status="DECLINED", timestamp=signed_at + 1)] * 4
    random.Random(7).shuffle(deliveries)

    answers, errors = deliver_concurrently(deliveries, threads=10)

    assert errors == []
    assert {status for status, _outcome in answers} == {200}
    for attempt in attempts:
        attempt.refresh_from_db()
        assert attempt.status in (GatewayTransaction.Status.APPROVED, GatewayTransaction.Status.DECLINED)
        assert (attempt.payment is not None) == (attempt.status == GatewayTransaction.Status.APPROVED)
        events = WebhookEvent.objects.filter(gateway_transaction=attempt)
        assert events.count() == 2
        assert events.filter(status=WebhookEvent.Status.PROCESSED).count() == 1
        assert events.filter(status=WebhookEvent.Status.IGNORED).count() == 1
    assert Payment.objects.count() == GatewayTransaction.objects.filter(status="APPROVED").count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_and_the_sweep_applying_one_stored_event_at_once_apply_it_once(wompi, agent):
    attempt = settled_attempts(wompi, agent, 1)[0]
    body, _headers = wompi.event(attempt.wompi_id)
    # Stored by a delivery whose task has not run yet.
    stored = WebhookEvent.objects.create(
        provider=WebhookEvent.Provider.WOMPI,
        event_id="queued-not-applied",
        event_type="transaction.updated",
        payload=body.decode(),
        reference=attempt.reference,
    )
    barrier = threading.Barrier(8)
    errors = []

    def apply():
        try:
            barrier.wait(timeout=30)
            webhook_event_process(webhook_event_id=stored.pk)
        except Exception as error:  # collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=apply) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == 1
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED
