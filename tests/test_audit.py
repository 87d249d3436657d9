"""The audit trail: append-only (model and database), request context on every event, and the audit log page."""

import csv
import io
import uuid
from datetime import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from portal.accounts import services as account_services
from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.audit.views import AUDIT_LOG_REASON

from .factories import UserFactory
from .helpers import HTMX

BOGOTA = timezone.get_fixed_timezone(-5 * 60)


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, 0, tzinfo=BOGOTA)


def make_event(**fields):
    values = {"action": "auth.sign_in", "actor_label": "someone@amparo.test"}
    values.update(fields)
    return AuditEvent.objects.create(**values)


@pytest.fixture
def event(db):
    return make_event(metadata={"note": "original"})


# --- append-only at model level -----------------------------------------------------------------


def test_an_existing_audit_event_cannot_be_saved_again(event):
    event.action = "user.suspended"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    event.refresh_from_db()
    assert event.action == "auth.sign_in"


def test_an_audit_event_cannot_be_deleted(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_events_cannot_be_updated_in_bulk(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="user.suspended")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().update(metadata={})
    event.refresh_from_db()
    assert event.metadata == {"note": "original"}


def test_audit_events_cannot_be_bulk_updated_from_instances(event):
    event.action = "user.suspended"
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])
    event.refresh_from_db()
    assert event.action == "auth.sign_in"


def test_audit_events_cannot_be_deleted_in_bulk(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_a_user_with_audit_events_cannot_be_deleted(db):
    user = UserFactory()
    audit_record(actor=user, action="auth.sign_in", target=user)
    with pytest.raises(ProtectedError):
        user.delete()
    assert AuditEvent.objects.filter(actor=user).count() == 1


# --- append-only at database level (PostgreSQL trigger) -----------------------------------------


@pytest.mark.postgres
def test_database_refuses_a_raw_update_of_an_audit_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["user.suspended", event.pk])
    event.refresh_from_db()
    assert event.action == "auth.sign_in"


@pytest.mark.postgres
def test_database_refuses_a_raw_delete_of_an_audit_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_database_refuses_an_unfiltered_raw_delete_of_the_audit_table(event):
    make_event(action="auth.sign_out")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
def test_database_still_accepts_new_audit_events(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (occurred_at, actor_label, action, target_type, target_id, target_label,"
            " metadata, correlation_id) VALUES (now(), 'raw', 'auth.sign_in', '', '', '', '{}', '')"
        )
    assert AuditEvent.objects.filter(actor_label="raw").count() == 1


# --- request context: correlation id and IP address ---------------------------------------------


def test_audit_event_takes_the_correlation_id_and_ip_of_the_request_being_served(client, admin_user, agent):
    request_id = str(uuid.uuid4())
    client.force_login(admin_user)

    response = client.post(
        reverse("accounts:user_suspend", args=[agent.pk]),
        {"reason": "left"},
        headers={"X-Request-ID": request_id},
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.suspended")
    assert event.correlation_id == request_id
    assert event.ip_address == "203.0.113.7"
    assert response["X-Request-ID"] == request_id


def test_audit_event_gets_the_generated_correlation_id_when_the_request_has_none(client, admin_user, agent):
    client.force_login(admin_user)
    response = client.post(reverse("accounts:user_suspend", args=[agent.pk]), {"reason": "left"})
    event = AuditEvent.objects.get(action="user.suspended")
    assert event.correlation_id
    assert event.correlation_id == response["X-Request-ID"]


def test_two_requests_get_two_correlation_ids(client, admin_user, agent, finance_user):
    client.force_login(admin_user)
    client.post(reverse("accounts:user_suspend", args=[agent.pk]), {"reason": "left"})
    client.post(reverse("accounts:user_suspend", args=[finance_user.pk]), {"reason": "left"})
    ids = set(AuditEvent.objects.filter(action="user.suspended").values_list("correlation_id", flat=True))
    assert len(ids) == 2


def test_audit_ip_is_not_taken_from_a_forged_forwarded_for_header(client, admin_user, agent):
    # No proxy is trusted by default: a client cannot write someone else's address into the trail.
    client.force_login(admin_user)
    client.post(
        reverse("accounts:user_suspend", args=[agent.pk]),
        {"reason": "left"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    assert AuditEvent.objects.get(action="user.suspended").ip_address == "203.0.113.7"


def test_audit_record_names_the_target_and_the_actor(db):
    actor = UserFactory(role=Role.ADMIN)
    subject = UserFactory()
    event = audit_record(actor=actor, action="user.role_changed", target=subject, metadata={"from": "A"})
    assert (event.actor, event.actor_label) == (actor, actor.email_primary)
    assert (event.target_type, event.target_id, event.target_label) == ("accounts.user", str(subject.pk), str(subject))
    assert event.metadata == {"from": "A"}


def test_audit_record_outside_a_request_has_no_ip_address(db):
    event = audit_record(actor=None, actor_label="seed_demo", action="demo.scaled")
    assert event.ip_address is None
    assert event.actor is None
    assert event.actor_label == "seed_demo"


def test_audit_record_after_a_request_does_not_reuse_that_requests_correlation_id(client, db):
    # Work done later on the same thread (a management command, a task in a thread worker) is
    # not part of the request that thread served before.
    response = client.get(reverse("healthz"), headers={"X-Request-ID": str(uuid.uuid4())})
    served_id = response["X-Request-ID"]

    event = audit_record(actor=None, actor_label="seed_demo", action="demo.scaled")

    assert event.correlation_id != served_id


def test_audit_write_is_part_of_the_callers_transaction(db):
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=user, action="auth.sign_in", target=user)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


# --- the audit log page -------------------------------------------------------------------------


@pytest.fixture
def trail(db):
    """A handful of events from different actors, actions, days and targets."""
    ana = UserFactory(full_name="Ana Auditada", email_primary="ana@amparo.test")
    bruno = UserFactory(full_name="Bruno Revisado", email_primary="bruno@amparo.test")
    return {
        "ana_sign_in": make_event(actor=ana, actor_label=ana.email_primary, occurred_at=at(2020, 3, 1)),
        "bruno_sign_in": make_event(actor=bruno, actor_label=bruno.email_primary, occurred_at=at(2020, 3, 5)),
        "failed": make_event(
            action="auth.sign_in_failed", actor_label="intruso@evil.example", occurred_at=at(2020, 3, 10, hour=23)
        ),
        "suspension": make_event(
            actor=ana,
            actor_label=ana.email_primary,
            action="user.suspended",
            target_type="accounts.user",
            target_id=str(bruno.pk),
            target_label=str(bruno),
            occurred_at=at(2020, 3, 20),
        ),
    }


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.mark.parametrize("who", ["admin_user", "auditor"])
def test_admin_and_interventoria_can_open_the_audit_log(client, request, who, trail):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("audit:log"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert "intruso@evil.example" in body
    assert "ana@amparo.test" in body


@pytest.mark.parametrize("who", ["supervisor", "agent", "finance_user"])
def test_other_staff_are_refused_the_audit_log_and_told_why(client, request, who, trail):
    client.force_login(request.getfixturevalue(who))
    for params in ({}, {"export": "csv"}):
        response = client.get(reverse("audit:log"), params)
        assert response.status_code == 403
        body = response.content.decode()
        assert str(AUDIT_LOG_REASON) in body
        assert "intruso@evil.example" not in body


def test_client_account_is_refused_the_audit_log(client, client_user, trail):
    client.force_login(client_user)
    response = client.get(reverse("audit:log"))
    assert response.status_code == 403
    assert "intruso@evil.example" not in response.content.decode()


def test_anonymous_visitor_is_sent_to_sign_in_from_the_audit_log(client, trail):
    response = client.get(reverse("audit:log"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_audit_log_filters_by_actor_email_or_name(auditor_client, trail):
    body = auditor_client.get(reverse("audit:log"), {"actor": "Bruno Revisado"}).content.decode()
    assert "bruno@amparo.test" in body
    assert "intruso@evil.example" not in body

    body = auditor_client.get(reverse("audit:log"), {"actor": "INTRUSO"}).content.decode()
    assert "intruso@evil.example" in body
    assert "bruno@amparo.test" not in body


def test_audit_log_filters_by_action(auditor_client, trail):
    response = auditor_client.get(reverse("audit:log"), {"action": "user.suspended"})
    body = response.content.decode()
    assert "User suspended" in body
    assert "intruso@evil.example" not in body
    assert body.count('title="user.suspended"') == 1


def test_audit_log_filters_by_target(auditor_client, trail):
    suspension = trail["suspension"]
    response = auditor_client.get(
        reverse("audit:log"), {"target_type": "accounts.user", "target_id": suspension.target_id}
    )
    body = response.content.decode()
    assert body.count('title="user.suspended"') == 1
    assert 'title="auth.sign_in"' not in body


def test_audit_log_filters_by_date_range_in_local_time(auditor_client, trail):
    # 23:00 in Bogotá on 10 March is already 11 March in UTC: the range is in local dates.
    response = auditor_client.get(
        reverse("audit:log"), {"occurred_after": "2020-03-05", "occurred_before": "2020-03-10"}
    )
    body = response.content.decode()
    assert "bruno@amparo.test" in body
    assert "intruso@evil.example" in body
    assert 'title="user.suspended"' not in body
    assert body.count('title="auth.sign_in"') == 1


def test_audit_log_with_an_impossible_date_says_so(auditor_client, trail):
    response = auditor_client.get(reverse("audit:log"), {"occurred_after": "not-a-date"})
    assert response.status_code in {200, 400}
    assert "Enter a valid date." in response.content.decode()


def test_audit_log_with_no_match_shows_an_empty_state(auditor_client, trail):
    response = auditor_client.get(reverse("audit:log"), {"actor": "nobody-at-all"})
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in response.content.decode()


def test_audit_log_htmx_request_gets_only_the_results_partial(auditor_client, trail):
    response = auditor_client.get(reverse("audit:log"), {"action": "auth.sign_in_failed"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="filter-form"' not in body
    assert "intruso@evil.example" in body
    assert "bruno@amparo.test" not in body
    assert 'data-testid="export-csv"' in body


def test_audit_log_full_page_has_the_filter_form_and_the_export_link(auditor_client, trail):
    body = auditor_client.get(reverse("audit:log"), {"action": "auth.sign_in"}).content.decode()
    assert 'data-testid="filter-form"' in body
    assert "action=auth.sign_in&amp;export=csv" in body


def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="amparo-audit-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_export_contains_exactly_the_filtered_rows(auditor_client, trail):
    # (Signing the auditor in wrote a sign-in of today; the date range leaves it out.)
    params = {"action": "auth.sign_in", "occurred_before": "2020-12-31", "export": "csv"}
    rows = read_csv(auditor_client.get(reverse("audit:log"), params))
    assert [row["actor"] for row in rows] == ["bruno@amparo.test", "ana@amparo.test"]  # newest first
    assert {row["action"] for row in rows} == {"auth.sign_in"}


def test_csv_export_without_filters_contains_every_event_with_its_details(auditor_client, trail):
    rows = read_csv(auditor_client.get(reverse("audit:log"), {"export": "csv"}))
    assert len(rows) == AuditEvent.objects.count() == len(trail) + 1  # + the auditor's own sign-in
    suspension = next(row for row in rows if row["action"] == "user.suspended")
    assert suspension["target_type"] == "accounts.user"
    assert suspension["target_id"] == trail["suspension"].target_id
    assert suspension["occurred_at"].startswith("2020-03-20")


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_csv_export_neutralises_cells_that_a_spreadsheet_would_run_as_a_formula(auditor_client, payload):
    make_event(action="auth.sign_in_failed", actor_label=payload, target_label=payload)
    rows = read_csv(auditor_client.get(reverse("audit:log"), {"export": "csv"}))
    assert rows[0]["actor"] == "'" + payload
    assert rows[0]["target"] == "'" + payload


def test_csv_export_leaves_ordinary_cells_alone(auditor_client, trail):
    rows = read_csv(auditor_client.get(reverse("audit:log"), {"actor": "intruso", "export": "csv"}))
    assert rows[0]["actor"] == "intruso@evil.example"


def test_admin_can_export_the_audit_log_too(client, admin_user, trail):
    client.force_login(admin_user)
    rows = read_csv(client.get(reverse("audit:log"), {"export": "csv"}))
    assert len(rows) == AuditEvent.objects.count()
    assert {row["actor"] for row in rows} >= {"ana@amparo.test", "bruno@amparo.test", "intruso@evil.example"}


def test_user_page_lists_recent_events_about_that_user_for_auditors_only(client, auditor, supervisor, agent):
    audit_record(actor=agent, action="auth.sign_in", target=agent)
    client.force_login(auditor)
    body = client.get(reverse("accounts:user_detail", args=[agent.pk])).content.decode()
    assert "Recent activity" in body
    assert "No activity recorded yet." not in body

    client.force_login(supervisor)
    body = client.get(reverse("accounts:user_detail", args=[agent.pk])).content.decode()
    assert "Recent activity" not in body


def test_suspension_through_the_service_shows_up_in_the_audit_log(auditor_client, admin_user, agent):
    account_services.user_suspend(user=agent, actor=admin_user, reason="left the company")
    body = auditor_client.get(reverse("audit:log"), {"action": "user.suspended"}).content.decode()
    assert admin_user.email_primary in body
    assert "left the company" in body
