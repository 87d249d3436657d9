"""Deliveries that are not applied (refused at the door, or of a type Amparo ignores) can come from
anyone: only their hash, size, source address and first 2 KB are kept, and each address may leave
only so many an hour."""

import hashlib
import importlib
import json
import time

import pytest
from django.apps import apps
from django.urls import reverse

from portal.gateways.models import WebhookEvent
from portal.gateways.wompi import event_checksum
from portal.payments.models import Payment

from .factories import CustomerFactory
from .helpers import nequi_payment_started

URL = reverse("api:wompi_webhook")
KEPT = WebhookEvent.PAYLOAD_KEPT_BYTES
EventStatus = WebhookEvent.Status


@pytest.fixture
def attempt(wompi, agent):
    return nequi_payment_started(CustomerFactory(agent=agent), agent)


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(body, headers=None, address="127.0.0.1"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                URL, data=body, content_type="application/json", headers=headers or {}, REMOTE_ADDR=address
            )

    return send


def badly_signed(wompi, attempt, *, padding="", number=0):
    """An event about `attempt` signed with the wrong secret; `padding` makes it as large as wanted."""
    wompi.settle(attempt.wompi_id)
    document = json.loads(wompi.event(attempt.wompi_id, secret="test_events_forged")[0])
    document["padding"] = padding
    document["n"] = number
    return json.dumps(document, ensure_ascii=False).encode()


@pytest.mark.django_db
def test_a_large_refused_delivery_keeps_its_hash_size_address_and_first_2_kb(post, wompi, attempt):
    body = badly_signed(wompi, attempt, padding="x" * 20_000)

    response = post(body, address="203.0.113.9")

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.payload == body[:KEPT].decode()
    assert (event.payload_bytes, event.payload_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert (event.payload_truncated, event.verified, event.status) == (True, False, EventStatus.FAILED)
    assert event.source_address == "203.0.113.9"


@pytest.mark.django_db
def test_a_multibyte_character_cut_at_the_limit_is_dropped_not_stored_half(post, wompi, attempt):
    start = badly_signed(wompi, attempt, padding="#").index(b"#")
    # The first two-byte "ñ" takes bytes KEPT - 1 and KEPT: the limit falls inside it.
    body = badly_signed(wompi, attempt, padding="x" * (KEPT - 1 - start) + "ñ" * 100)

    post(body)

    assert WebhookEvent.objects.get().payload.encode() == body[: KEPT - 1]


@pytest.mark.django_db
def test_a_small_refused_delivery_is_kept_whole_and_not_marked_truncated(post, wompi, attempt):
    body = badly_signed(wompi, attempt)

    post(body)

    event = WebhookEvent.objects.get()
    assert (event.payload, event.payload_truncated, event.payload_bytes) == (body.decode(), False, len(body))


@pytest.mark.django_db
def test_a_verified_event_is_stored_whole_with_its_size_hash_and_address(post, wompi, attempt):
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)
    document = json.loads(body)
    document["data"]["transaction"]["redirect_url"] = "https://amparo.example/" + "r" * 3000
    body = json.dumps(document).encode()

    post(body, headers, address="198.51.100.4")

    event = WebhookEvent.objects.get()
    assert (event.payload, event.verified, event.payload_truncated) == (body.decode(), True, False)
    assert (event.payload_bytes, event.payload_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert event.source_address == "198.51.100.4"
    assert event.status == EventStatus.PROCESSED


@pytest.mark.django_db
def test_an_event_of_a_type_amparo_ignores_keeps_only_its_first_2_kb(post, wompi, settings):
    signed_at = int(time.time())
    body = {
        "event": "nequi_token.updated",
        "data": {"nequi_token": {"id": "nequi_test_1", "status": "APPROVED", "note": "n" * 10_000}},
        "signature": {"properties": ["nequi_token.id", "nequi_token.status"]},
        "timestamp": signed_at,
    }
    body["signature"]["checksum"] = event_checksum(
        values=["nequi_test_1", "APPROVED"], timestamp=signed_at, secret=settings.WOMPI_EVENTS_SECRET
    )
    body = json.dumps(body).encode()

    assert post(body).json() == {"status": "ignored"}

    event = WebhookEvent.objects.get()
    assert (event.status, event.verified, event.payload_truncated) == (EventStatus.IGNORED, True, True)
    assert event.payload == body[:KEPT].decode()


@pytest.mark.django_db
def test_past_the_hourly_limit_an_address_is_answered_429_and_nothing_more_is_stored(post, wompi, attempt, settings):
    settings.WOMPI_UNAPPLIED_EVENTS_PER_HOUR = 3
    answers = [post(badly_signed(wompi, attempt, number=number)).status_code for number in range(5)]

    assert answers == [401, 401, 401, 429, 429]
    assert WebhookEvent.objects.count() == 3


@pytest.mark.django_db
def test_the_limit_is_per_source_address(post, wompi, attempt, settings):
    settings.WOMPI_UNAPPLIED_EVENTS_PER_HOUR = 1
    post(badly_signed(wompi, attempt, number=1), address="203.0.113.9")

    assert post(badly_signed(wompi, attempt, number=2), address="203.0.113.9").status_code == 429
    assert post(badly_signed(wompi, attempt, number=3), address="203.0.113.10").status_code == 401
    assert WebhookEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_genuine_event_from_a_throttled_address_is_still_applied(post, wompi, attempt, settings):
    settings.WOMPI_UNAPPLIED_EVENTS_PER_HOUR = 1
    post(badly_signed(wompi, attempt, number=1))
    assert post(badly_signed(wompi, attempt, number=2)).status_code == 429

    response = post(*wompi.event(attempt.wompi_id))

    assert response.json() == {"status": "received"}
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_deliveries_refused_before_the_migration_are_marked_unverified(wompi, attempt):
    """Their id was already `unverified:…`; their payload stays as it was stored."""
    migration = importlib.import_module("portal.gateways.migrations.0002_webhook_event_bounded_storage")
    old = WebhookEvent.objects.create(
        provider=WebhookEvent.Provider.WOMPI,
        event_id="unverified:" + "0" * 64,
        event_type="transaction.updated",
        payload="{}",
        status=EventStatus.FAILED,
        processed_at=attempt.created_at,
    )
    genuine = WebhookEvent.objects.create(
        provider=WebhookEvent.Provider.WOMPI, event_id="a" * 64, event_type="transaction.updated", payload="{}"
    )

    migration.mark_unverified_deliveries(apps, None)

    old.refresh_from_db()
    genuine.refresh_from_db()
    assert (old.verified, genuine.verified) == (False, True)
    assert (old.payload_bytes, old.payload_sha256, old.payload_truncated) == (None, "", False)
