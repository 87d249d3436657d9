"""The outbox page: administrators and Interventoría see the outbox by state with filters and each
message's attempts; only administrators retry or skip a dead message, with a note that is audited."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.integrations.demo import seed_demo_outbox
from portal.outbox.models import OutboxMessage
from tests.factories import UserFactory, issue_policy

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def dead_message(core, drain, policy_history):
    """A policy whose issuance the core refused: a DEAD message, two held behind it."""
    policy_history()
    core.refuse_next(1, error_type="VALIDATION", code="BAD_HOLDER")
    drain()
    return OutboxMessage.objects.get(state="DEAD")


def test_administrators_see_the_outbox_by_state_and_filter_it(client, admin, dead_message):
    client.force_login(admin)

    page = client.get(reverse("integrations:outbox"))
    dead_only = client.get(reverse("integrations:outbox"), {"state": "DEAD"}, **HTMX)

    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('data-state="PENDING"') == 2
    assert 'data-state="DEAD"' in body
    assert 'data-testid="destination-casse"' in body
    assert dead_only.content.decode().count("data-state=") == 1
    assert "<html" not in dead_only.content.decode()


def test_a_message_shows_its_attempts_with_what_the_core_answered(client, admin, dead_message):
    client.force_login(admin)

    page = client.get(reverse("integrations:message_detail", args=[dead_message.pk]), **HTMX)

    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-outcome="REFUSED"' in body
    assert "BAD_HOLDER" in body
    assert 'data-testid="retry"' in body and 'data-testid="skip"' in body
    assert dead_message.payload["customer"]["id_number"] not in body


def test_retrying_a_dead_message_needs_a_note_and_is_audited(client, admin, dead_message):
    client.force_login(admin)
    url = reverse("integrations:message_retry", args=[dead_message.pk])

    refused = client.post(url, {"note": "  "}, **HTMX)
    dead_message.refresh_from_db()
    assert (refused.status_code, dead_message.state) == (422, "DEAD")

    done = client.post(url, {"note": "El core corrigió el tercero"}, **HTMX)

    dead_message.refresh_from_db()
    assert (done.status_code, dead_message.state, dead_message.attempts) == (200, "PENDING", 0)
    event = AuditEvent.objects.get(action="outbox.message_retried")
    assert (event.actor, event.metadata["note"], event.target_id) == (
        admin,
        "El core corrigió el tercero",
        str(dead_message.pk),
    )
    assert "El core corrigió el tercero" in done.content.decode()


def test_skipping_a_dead_message_is_audited_and_a_second_click_is_refused(client, admin, dead_message):
    client.force_login(admin)
    url = reverse("integrations:message_skip", args=[dead_message.pk])

    client.post(url, {"note": "Emitida a mano en el core"}, **HTMX)
    again = client.post(url, {"note": "otra vez"}, **HTMX)

    dead_message.refresh_from_db()
    assert dead_message.state == "SKIPPED"
    assert again.status_code == 409
    assert AuditEvent.objects.filter(action="outbox.message_skipped").count() == 1


def test_interventoria_reads_the_outbox_but_cannot_retry_or_skip(client, dead_message):
    client.force_login(UserFactory(role=Role.INTERVENTORIA))

    detail = client.get(reverse("integrations:message_detail", args=[dead_message.pk]))
    retry = client.post(reverse("integrations:message_retry", args=[dead_message.pk]), {"note": "x"})
    skip = client.post(reverse("integrations:message_skip", args=[dead_message.pk]), {"note": "x"})

    assert detail.status_code == 200
    assert 'data-testid="attempts"' in detail.content.decode()
    assert 'data-testid="retry"' not in detail.content.decode()
    assert (retry.status_code, skip.status_code) == (403, 403)
    dead_message.refresh_from_db()
    assert dead_message.state == "DEAD"


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.FINANCE])
def test_other_roles_are_refused_the_outbox(client, db, role):
    client.force_login(UserFactory(role=role))

    assert client.get(reverse("integrations:outbox")).status_code == 403


def test_with_sync_off_the_page_says_so(client, admin, sync_off):
    client.force_login(admin)

    assert 'data-testid="sync-off"' in client.get(reverse("integrations:outbox")).content.decode()


def test_outbox_relay_drains_and_prints_one_json_line(core, settings, policy_history):
    settings.CASSE_RETRY_BASE_SECONDS = 1
    policy_history()
    core.fail_next(1)
    output = StringIO()

    call_command("outbox_relay", "--drain", "--timeout", "120", stdout=output)

    figures = json.loads(output.getvalue().strip())
    assert set(figures) == {"sent", "acked", "failed", "dead", "pending", "seconds"}
    assert (figures["sent"], figures["acked"], figures["failed"], figures["pending"]) == (4, 3, 1, 0)


def test_outbox_relay_with_sync_off_sends_nothing_and_counts_what_waits(sync_off, db):
    issue_policy()
    seed_demo_outbox()
    output = StringIO()

    call_command("outbox_relay", "--drain", stdout=output)

    figures = json.loads(output.getvalue().strip())
    assert (figures["sent"], figures["pending"]) == (0, 1)
