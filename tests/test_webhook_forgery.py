"""Only what Wompi signs is believed: a checksum is accepted for the exact properties Wompi signs
for the event type, every field applied is one of them, old events are refused, and an approval is
confirmed with Wompi's own GET /transactions/{id} before it becomes a payment."""

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.gateways.apply import webhook_events_process_pending
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.gateways.wompi import event_checksum
from portal.payments.models import LedgerEntry, Payment, PaymentAllocation, Receipt

from .factories import CustomerFactory
from .helpers import nequi_payment_started
from .wompi_server import DECLINING_NEQUI, SIGNED_PROPERTIES

URL = reverse("api:wompi_webhook")
Status = GatewayTransaction.Status
EventStatus = WebhookEvent.Status
DAY = 24 * 3600


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a body to the webhook as Wompi would; the worker's task (immediate in tests) runs before it returns."""

    def send(body, headers=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=body, content_type="application/json", headers=headers or {})

    return send


def effects():
    """Everything an applied event changes, to compare before and after."""
    return {
        "transactions": sorted(GatewayTransaction.objects.values_list("reference", "status", "payment_id", "wompi_id")),
        "payments": Payment.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "allocations": PaymentAllocation.objects.count(),
        "receipts": Receipt.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def forged_approval(genuine_body, target):
    """The forgery of the review: one property `x` holding the genuine event's signed values
    concatenated, the genuine timestamp and checksum, and a transaction of the forger's choosing."""
    genuine = json.loads(genuine_body)
    transaction = genuine["data"]["transaction"]
    concatenated = "".join(str(transaction[path.split(".", 1)[1]]) for path in genuine["signature"]["properties"])
    checksum = genuine["signature"]["checksum"]
    body = {
        "event": "transaction.updated",
        "data": {
            "x": concatenated,
            "transaction": {
                "id": target.wompi_id,
                "status": "APPROVED",
                "reference": target.reference,
                "amount_in_cents": target.amount_in_cents,
                "currency": target.currency,
                "payment_method_type": "NEQUI",
            },
        },
        "environment": "test",
        "signature": {"properties": ["x"], "checksum": checksum},
        "timestamp": genuine["timestamp"],
    }
    return json.dumps(body).encode(), {"X-Event-Checksum": checksum}


def signed_with(wompi, document, properties):
    """`document` signed with the real events secret over `properties`, as only Wompi could sign it."""
    values = []
    for path in properties:
        value = document["data"]
        for key in path.split("."):
            value = value[key]
        values.append(str(value))
    checksum = event_checksum(values=values, timestamp=document["timestamp"], secret=wompi.events_secret)
    document["signature"] = {"properties": properties, "checksum": checksum}
    return json.dumps(document).encode()


# --- the signed properties ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("confirm", [True, False], ids=["confirming", "not-confirming"])
def test_the_reviews_forged_approval_built_from_a_genuine_event_is_refused_and_changes_nothing(
    post, wompi, customer, agent, settings, confirm
):
    settings.WOMPI_CONFIRM_APPROVALS = confirm
    declined = nequi_payment_started(customer, agent, phone=DECLINING_NEQUI)
    wompi.settle(declined.wompi_id)
    genuine_body, genuine_headers = wompi.event(declined.wompi_id)
    assert post(genuine_body, genuine_headers).status_code == 200
    target = nequi_payment_started(CustomerFactory(agent=agent), agent, amount="80000")
    body, headers = forged_approval(genuine_body, target)
    # It is the exact forgery: the checksum over the one property `x` is the genuine one.
    genuine = json.loads(genuine_body)
    assert event_checksum(
        values=[json.loads(body)["data"]["x"]], timestamp=genuine["timestamp"], secret=wompi.events_secret
    ) == (genuine["signature"]["checksum"].lower())
    before = effects()

    response = post(body, headers)

    assert response.status_code == 401
    assert "transaction.id" in response.json()["detail"]
    assert effects() == before
    target.refresh_from_db()
    assert (target.status, target.payment) == (Status.PENDING, None)
    refused = WebhookEvent.objects.order_by("-id").first()
    assert refused.status == EventStatus.FAILED
    assert refused.event_id.startswith("unverified:")
    assert not refused.verified


@pytest.mark.django_db
@pytest.mark.parametrize(
    "properties",
    [
        [*SIGNED_PROPERTIES, "transaction.reference"],
        SIGNED_PROPERTIES[:2],
        [SIGNED_PROPERTIES[1], SIGNED_PROPERTIES[0], SIGNED_PROPERTIES[2]],
        ["transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.amount_in_cents"],
    ],
    ids=["an-extra-property", "a-missing-property", "reordered", "repeated"],
)
def test_a_correct_checksum_over_other_properties_than_wompi_signs_is_refused(post, wompi, customer, agent, properties):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    document = json.loads(wompi.event(attempt.wompi_id)[0])
    body = signed_with(wompi, document, properties)
    before = effects()

    response = post(body)

    assert response.status_code == 401
    assert effects() == before
    assert WebhookEvent.objects.get().status == EventStatus.FAILED


@pytest.mark.django_db
def test_the_reference_and_currency_an_event_carries_are_not_believed(post, wompi, customer, agent, settings):
    """They are not signed: the attempt is the one with the signed transaction id."""
    settings.WOMPI_CONFIRM_APPROVALS = False
    attempt = nequi_payment_started(customer, agent)
    other = nequi_payment_started(CustomerFactory(agent=agent), agent)
    wompi.settle(attempt.wompi_id)
    document = json.loads(wompi.event(attempt.wompi_id)[0])
    document["data"]["transaction"].update(reference=other.reference, currency="USD")
    body = signed_with(wompi, document, SIGNED_PROPERTIES)

    assert post(body).status_code == 200

    attempt.refresh_from_db()
    other.refresh_from_db()
    assert (attempt.status, other.status) == (Status.APPROVED, Status.PENDING)
    payment = Payment.objects.get()
    assert (payment.reference, payment.currency) == (attempt.reference, "COP")
    assert WebhookEvent.objects.get().reference == attempt.reference


@pytest.mark.django_db
@pytest.mark.parametrize("confirm", [True, False], ids=["confirming", "not-confirming"])
def test_an_event_whose_attempt_lost_wompis_id_is_matched_by_the_reference_wompi_gives(
    post, wompi, customer, agent, settings, confirm
):
    """The POST's answer was lost, so no attempt has the event's transaction id; the reference the
    event carries is not signed, so Wompi's own answer says which attempt it is."""
    settings.WOMPI_CONFIRM_APPROVALS = confirm
    lost = nequi_payment_started(customer, agent)
    decoy = nequi_payment_started(CustomerFactory(agent=agent), agent)
    GatewayTransaction.objects.filter(pk__in=[lost.pk, decoy.pk]).update(wompi_id=None)
    wompi.settle(lost.wompi_id)
    document = json.loads(wompi.event(lost.wompi_id)[0])
    document["data"]["transaction"]["reference"] = decoy.reference
    body = signed_with(wompi, document, SIGNED_PROPERTIES)

    assert post(body).status_code == 200

    lost.refresh_from_db()
    decoy.refresh_from_db()
    assert (lost.status, lost.wompi_id) == (Status.APPROVED, wompi.transaction_with_reference(lost.reference)["id"])
    assert (decoy.status, decoy.payment) == (Status.PENDING, None)
    assert Payment.objects.get().reference == lost.reference
    assert wompi.calls("GET", f"/v1/transactions/{lost.wompi_id}") == 1


@pytest.mark.django_db
def test_an_event_about_a_transaction_wompi_says_is_not_ours_fails(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)
    GatewayTransaction.objects.filter(pk=attempt.pk).update(wompi_id=None)
    wompi.transactions[attempt.wompi_id]["reference"] = "SOMEONE-ELSES"
    wompi.settle(attempt.wompi_id)

    post(*wompi.event(attempt.wompi_id))

    event = WebhookEvent.objects.get()
    assert (event.status, event.reference, event.gateway_transaction) == (EventStatus.FAILED, "SOMEONE-ELSES", None)
    assert "SOMEONE-ELSES" in event.error
    assert not Payment.objects.exists()


# --- old events ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_genuine_event_replayed_after_the_window_is_refused_as_stale_and_changes_nothing(
    post, wompi, customer, agent
):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id, timestamp=int(time.time()) - 8 * DAY)
    before = effects()

    response = post(body, headers)

    assert response.status_code == 401
    assert "old" in response.json()["detail"]
    assert effects() == before
    event = WebhookEvent.objects.get()
    assert (event.status, event.verified) == (EventStatus.FAILED, False)


@pytest.mark.django_db
def test_an_event_inside_the_window_is_applied(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)

    response = post(*wompi.event(attempt.wompi_id, timestamp=int(time.time()) - 6 * DAY))

    assert response.status_code == 200
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_window_is_a_setting(post, wompi, customer, agent, settings):
    settings.WOMPI_EVENT_MAX_AGE_SECONDS = 60
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)

    response = post(*wompi.event(attempt.wompi_id, timestamp=int(time.time()) - 120))

    assert response.status_code == 401
    assert not Payment.objects.exists()


# --- confirming approvals with Wompi -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_approval_is_confirmed_with_wompi_before_the_payment_is_recorded(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)

    post(*wompi.event(attempt.wompi_id))

    assert wompi.calls("GET", f"/v1/transactions/{attempt.wompi_id}") == 1
    assert Payment.objects.get().reference == attempt.reference
    assert WebhookEvent.objects.get().status == EventStatus.PROCESSED


@pytest.mark.django_db
def test_an_approval_wompi_does_not_confirm_records_no_payment(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id, status="DECLINED")

    response = post(*wompi.event(attempt.wompi_id, status="APPROVED"))

    assert response.status_code == 200
    assert not Payment.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == Status.DECLINED
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    assert "Declined" in event.error


@pytest.mark.django_db
def test_an_approval_wompi_still_has_pending_records_no_payment(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)

    post(*wompi.event(attempt.wompi_id, status="APPROVED"))

    assert not Payment.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING
    assert WebhookEvent.objects.get().status == EventStatus.FAILED


@pytest.mark.django_db
def test_when_wompi_cannot_be_reached_the_event_waits_and_a_later_sweep_applies_it(
    post, wompi, customer, agent, settings
):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    wompi.drop_connections(settings.WOMPI_ATTEMPTS)

    response = post(*wompi.event(attempt.wompi_id))

    assert response.json() == {"status": "received"}
    event = WebhookEvent.objects.get()
    assert (event.status, event.processed_at) == (EventStatus.RECEIVED, None)
    assert not Payment.objects.exists()
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))

    assert webhook_events_process_pending() == 1

    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert Payment.objects.get().reference == attempt.reference


@pytest.mark.django_db
def test_a_wompi_server_error_also_leaves_the_event_for_the_sweep(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    wompi.answer_with(503)

    post(*wompi.event(attempt.wompi_id))

    assert WebhookEvent.objects.get().status == EventStatus.RECEIVED
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_the_sweep_stops_asking_once_wompi_does_not_answer(client, wompi, customer, agent, settings):
    settings.WOMPI_ATTEMPTS = 1
    attempts = [nequi_payment_started(customer, agent) for _ in range(3)]
    for attempt in attempts:
        wompi.settle(attempt.wompi_id)
        body, headers = wompi.event(attempt.wompi_id)
        client.post(URL, data=body, content_type="application/json", headers=headers)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    asked = len(wompi.requests)
    wompi.drop_connections(1)

    webhook_events_process_pending()

    assert len(wompi.requests) == asked + 1
    assert not WebhookEvent.objects.exclude(status=EventStatus.RECEIVED).exists()
    assert webhook_events_process_pending() == 3
    assert Payment.objects.count() == 3


@pytest.mark.django_db
def test_a_wompi_server_error_about_one_event_does_not_hold_up_the_others(client, wompi, customer, agent):
    attempts = [nequi_payment_started(customer, agent) for _ in range(2)]
    for attempt in attempts:
        wompi.settle(attempt.wompi_id)
        body, headers = wompi.event(attempt.wompi_id)
        client.post(URL, data=body, content_type="application/json", headers=headers)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    wompi.answer_with(500)

    assert webhook_events_process_pending() == 2

    assert sorted(WebhookEvent.objects.values_list("status", flat=True)) == [
        EventStatus.PROCESSED,
        EventStatus.RECEIVED,
    ]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_event_wompi_gives_no_answer_about_for_longer_than_the_window_fails_for_someone_to_ask_by_hand(
    client, wompi, customer, agent, settings
):
    settings.WOMPI_ATTEMPTS = 1
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)
    client.post(URL, data=body, content_type="application/json", headers=headers)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(days=8))
    wompi.drop_connections(1)

    webhook_events_process_pending()

    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    assert "ask Wompi" in event.error
    assert not Payment.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING


@pytest.mark.django_db
def test_without_confirmation_an_approval_is_applied_from_the_signed_event_alone(
    post, wompi, customer, agent, settings
):
    settings.WOMPI_CONFIRM_APPROVALS = False
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)

    post(*wompi.event(attempt.wompi_id))

    assert wompi.calls("GET", f"/v1/transactions/{attempt.wompi_id}") == 0
    assert Payment.objects.get().reference == attempt.reference


@pytest.mark.django_db
def test_a_decline_is_applied_without_asking_wompi(post, wompi, customer, agent):
    attempt = nequi_payment_started(customer, agent, phone=DECLINING_NEQUI)
    wompi.settle(attempt.wompi_id)

    post(*wompi.event(attempt.wompi_id))

    assert wompi.calls("GET", f"/v1/transactions/{attempt.wompi_id}") == 0
    attempt.refresh_from_db()
    assert attempt.status == Status.DECLINED
