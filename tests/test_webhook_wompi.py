"""POST /api/v1/webhooks/wompi/: every delivery stored, each transaction state applied once, in
order, with the payment and its ledger entries; bad payloads refused with nothing changed."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.gateways.apply import webhook_event_process, webhook_events_process_pending
from portal.gateways.events import MAX_EVENT_BYTES
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.gateways.services import online_payment_start
from portal.payments.models import LedgerEntry, Payment, PaymentAllocation
from portal.payments.services import payment_receive

from .factories import CustomerFactory
from .helpers import nequi_payment_started
from .wompi_server import DECLINING_NEQUI

URL = reverse("api:wompi_webhook")
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status
# A fixed signing time inside the window of events that are accepted, for repeats of one event.
A_MINUTE_AGO = int(time.time()) - 60


@pytest.fixture
def attempt(wompi, customer, agent):
    """A Nequi payment of COP 45,000 sent to Wompi, still pending."""
    return nequi_payment_started(customer, agent)


class Webhook:
    """Deliveries to the endpoint as Wompi makes them; what the worker does once each is committed
    (huey runs immediately in tests) happens before `post` returns."""

    def __init__(self, client, wompi, capture):
        self.client, self.wompi, self.capture = client, wompi, capture

    def post(self, body, headers=None):
        with self.capture(execute=True):
            return self.client.post(URL, data=body, content_type="application/json", headers=headers or {})

    def deliver(self, attempt, *, header_only=False, **options):
        body, headers = self.wompi.event(attempt.wompi_id, **options)
        if header_only:
            document = json.loads(body)
            del document["signature"]["checksum"]
            body = json.dumps(document).encode()
        return self.post(body, headers)


@pytest.fixture
def webhook(client, wompi, django_capture_on_commit_callbacks):
    return Webhook(client, wompi, django_capture_on_commit_callbacks)


def last_event():
    return WebhookEvent.objects.order_by("-id").first()


def effects():
    """Everything an event can change, to compare before and after."""
    return {
        "transactions": sorted(GatewayTransaction.objects.values_list("reference", "status", "payment_id")),
        "payments": Payment.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "allocations": PaymentAllocation.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
def test_an_approval_records_the_payment_its_ledger_entry_and_the_audit_in_one_go(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)

    response = webhook.deliver(attempt)

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    attempt.refresh_from_db()
    assert attempt.status == Status.APPROVED
    payment = attempt.payment
    assert (payment.amount, payment.currency, payment.reference) == (Decimal("45000.00"), "COP", attempt.reference)
    entry = LedgerEntry.objects.get(payment=payment)
    assert (entry.kind, entry.amount) == (LedgerEntry.Kind.PAYMENT_RECEIVED, Decimal("-45000.00"))
    assert AuditEvent.objects.filter(action="gateway.status_changed", target_id=str(attempt.pk)).exists()
    assert AuditEvent.objects.filter(action="payment.received", target_id=str(payment.pk)).exists()
    event = WebhookEvent.objects.get()
    assert (event.status, event.gateway_transaction, event.reference) == (
        EventStatus.PROCESSED,
        attempt,
        attempt.reference,
    )
    assert event.processed_at is not None
    assert json.loads(event.payload)["data"]["transaction"]["id"] == attempt.wompi_id


@pytest.mark.django_db
def test_an_event_is_stored_received_and_answered_before_it_is_applied(client, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)

    response = client.post(URL, data=body, content_type="application/json", headers=headers)

    assert response.json() == {"status": "received"}
    event = WebhookEvent.objects.get()
    assert (event.status, event.processed_at) == (EventStatus.RECEIVED, None)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_an_event_whose_task_was_lost_is_applied_by_the_sweep(client, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)
    client.post(URL, data=body, content_type="application/json", headers=headers)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))

    assert webhook_events_process_pending() == 1

    assert WebhookEvent.objects.get().status == EventStatus.PROCESSED
    assert Payment.objects.count() == 1
    assert webhook_events_process_pending() == 0


@pytest.mark.django_db
def test_applying_an_event_twice_applies_it_once(client, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)
    client.post(URL, data=body, content_type="application/json", headers=headers)
    event = WebhookEvent.objects.get()

    webhook_event_process(webhook_event_id=event.pk)
    webhook_event_process(webhook_event_id=event.pk)

    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT_RECEIVED).count() == 1


@pytest.mark.django_db
def test_the_checksum_may_come_in_the_x_event_checksum_header_only(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)

    response = webhook.deliver(attempt, header_only=True)

    assert response.status_code == 200
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_same_event_delivered_again_is_recognised_and_changes_nothing(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id, timestamp=A_MINUTE_AGO)
    webhook.post(body, headers)
    before = effects()

    response = webhook.post(body, headers)

    assert response.status_code == 200
    assert response.json() == {"status": "duplicate"}
    assert effects() == before
    event = WebhookEvent.objects.get()
    assert event.deliveries == 2
    assert event.last_received_at > event.received_at


@pytest.mark.django_db
def test_a_decline_arriving_after_the_approval_is_stored_and_ignored(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    webhook.deliver(attempt)
    before = effects()

    response = webhook.deliver(attempt, status="DECLINED", timestamp=2_000_000_000)

    assert response.status_code == 200
    assert effects() == before
    ignored = last_event()
    assert ignored.status == EventStatus.IGNORED
    assert "Declined cannot follow Approved" in ignored.error


@pytest.mark.django_db
def test_an_approval_arriving_after_a_decline_changes_nothing(webhook, wompi, customer, agent):
    attempt = online_payment_start(
        customer=customer,
        amount=Decimal("45000"),
        currency="COP",
        method="NEQUI",
        method_details={"phone_number": DECLINING_NEQUI},
        actor=agent,
    )
    wompi.settle(attempt.wompi_id)
    webhook.deliver(attempt)

    webhook.deliver(attempt, status="APPROVED", timestamp=2_000_000_000)

    assert last_event().status == EventStatus.IGNORED
    attempt.refresh_from_db()
    assert attempt.status == Status.DECLINED
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_void_after_the_approval_is_applied_and_keeps_the_payment_for_reconciliation(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    webhook.deliver(attempt)

    webhook.deliver(attempt, status="VOIDED", timestamp=2_000_000_000)

    assert last_event().status == EventStatus.PROCESSED
    attempt.refresh_from_db()
    assert attempt.status == Status.VOIDED
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_event_whose_amount_differs_from_what_we_asked_fails_and_changes_nothing(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    before = effects()

    webhook.deliver(attempt, amount_in_cents=100)

    assert effects() == before
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    assert "COP 1.00" in event.error


@pytest.mark.django_db
def test_a_wrong_checksum_is_refused_recorded_as_failed_and_applied_nowhere(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    before = effects()

    response = webhook.deliver(attempt, secret="test_events_forged")

    assert response.status_code == 401
    assert "checksum" in response.json()["detail"]
    assert effects() == before
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    assert event.event_id.startswith("unverified:")


@pytest.mark.django_db
def test_a_forged_copy_cannot_take_the_id_of_the_genuine_event_that_follows(webhook, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    webhook.post(*wompi.event(attempt.wompi_id, timestamp=A_MINUTE_AGO, secret="test_events_forged"))

    response = webhook.post(*wompi.event(attempt.wompi_id, timestamp=A_MINUTE_AGO))

    assert response.json() == {"status": "received"}
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_without_an_events_secret_no_event_is_accepted(webhook, wompi, attempt, settings):
    wompi.settle(attempt.wompi_id)
    body, _headers = wompi.event(attempt.wompi_id, secret="")
    settings.WOMPI_EVENTS_SECRET = ""

    response = webhook.post(body)

    assert response.status_code == 401
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_an_approval_the_payments_service_refuses_leaves_it_approved_without_payment_and_says_why(
    webhook, wompi, attempt, agent
):
    other = CustomerFactory(agent=agent)
    payment_receive(
        customer=other, amount="10", currency="COP", method="NEQUI", reference=attempt.reference, actor=None
    )
    wompi.settle(attempt.wompi_id)

    webhook.deliver(attempt)

    attempt.refresh_from_db()
    assert (attempt.status, attempt.payment) == (Status.APPROVED, None)
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    assert "another customer" in event.error
    assert AuditEvent.objects.filter(action="gateway.payment_not_recorded", target_id=str(attempt.pk)).exists()


@pytest.mark.django_db
def test_events_amparo_does_not_act_on_are_stored_and_ignored(webhook, settings):
    from portal.gateways.wompi import event_checksum

    body = {
        "event": "nequi_token.updated",
        "data": {"nequi_token": {"id": "nequi_test_1", "status": "APPROVED"}},
        "signature": {"properties": ["nequi_token.id", "nequi_token.status"]},
        "timestamp": A_MINUTE_AGO,
    }
    body["signature"]["checksum"] = event_checksum(
        values=["nequi_test_1", "APPROVED"], timestamp=A_MINUTE_AGO, secret=settings.WOMPI_EVENTS_SECRET
    )

    response = webhook.post(json.dumps(body).encode())

    assert response.json() == {"status": "ignored"}
    assert WebhookEvent.objects.get().event_type == "nequi_token.updated"


def valid_event(wompi, attempt):
    wompi.settle(attempt.wompi_id)
    return json.loads(wompi.event(attempt.wompi_id)[0])


def without(document, *path):
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    del target[last]
    return document


def replaced(document, value, *path):
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    return document


BAD_DOCUMENTS = {
    "a JSON array": lambda d: [d],
    "no event name": lambda d: without(d, "event"),
    "no data": lambda d: without(d, "data"),
    "data as a string": lambda d: replaced(d, "{}", "data"),
    "no transaction": lambda d: without(d, "data", "transaction"),
    "no signature": lambda d: without(d, "signature"),
    "properties not a list": lambda d: replaced(d, "transaction.id", "signature", "properties"),
    "an empty properties list": lambda d: replaced(d, [], "signature", "properties"),
    "a property the data lacks": lambda d: replaced(d, ["transaction.nothing"], "signature", "properties"),
    "a property naming an object": lambda d: replaced(d, ["transaction"], "signature", "properties"),
    "checksum as a number": lambda d: replaced(d, 12345, "signature", "checksum"),
    "no timestamp": lambda d: without(d, "timestamp"),
    "timestamp as a string": lambda d: replaced(d, "1700000000", "timestamp"),
    "timestamp as true": lambda d: replaced(d, True, "timestamp"),
    "amount as a string": lambda d: replaced(d, "4500000", "data", "transaction", "amount_in_cents"),
    "amount as a float": lambda d: replaced(d, 4500000.0, "data", "transaction", "amount_in_cents"),
    "a negative amount": lambda d: replaced(d, -1, "data", "transaction", "amount_in_cents"),
    "an unknown status": lambda d: replaced(d, "PAID", "data", "transaction", "status"),
    "no reference": lambda d: without(d, "data", "transaction", "reference"),
    "reference as a number": lambda d: replaced(d, 17, "data", "transaction", "reference"),
    "no currency": lambda d: without(d, "data", "transaction", "currency"),
    "a long currency": lambda d: replaced(d, "PESOS", "data", "transaction", "currency"),
    "a NUL in the event name": lambda d: replaced(d, "transaction.updated\u0000", "event"),
    "a NUL in the reference": lambda d: replaced(d, "REF\u0000", "data", "transaction", "reference"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("problem", list(BAD_DOCUMENTS))
def test_a_malformed_event_is_answered_400_with_the_reason_and_nothing_is_stored(webhook, wompi, attempt, problem):
    document = BAD_DOCUMENTS[problem](valid_event(wompi, attempt))
    before = effects()

    response = webhook.post(json.dumps(document).encode())

    assert response.status_code == 400
    assert response.json()["detail"]
    assert effects() == before
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"", b"{", b"not json", '{"event": "caf\u00e9"}'.encode("utf-16"), b"\xff\xfe"])
def test_a_body_that_is_not_json_is_answered_400(webhook, body):
    response = webhook.post(body)

    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_huge_body_is_refused_413_without_being_read_or_stored(webhook, wompi, attempt):
    document = valid_event(wompi, attempt)
    document["padding"] = "x" * MAX_EVENT_BYTES

    response = webhook.post(json.dumps(document).encode())

    assert response.status_code == 413
    assert response.json()["detail"]
    assert not WebhookEvent.objects.exists()
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_body_sent_without_its_length_is_not_read(wompi, attempt):
    from django.test import RequestFactory

    from api.webhooks import wompi_webhook

    request = RequestFactory().post(
        URL, data=b"{" + b" " * (MAX_EVENT_BYTES + 10) + b"}", content_type="application/json"
    )
    request.META.pop("CONTENT_LENGTH")

    response = wompi_webhook(request)

    assert response.status_code in (400, 413)
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_only_post_is_accepted(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["detail"]


@pytest.mark.django_db
def test_the_webhook_needs_no_csrf_token_and_no_session(wompi, attempt):
    from django.test import Client

    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)

    response = Client(enforce_csrf_checks=True).post(URL, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
