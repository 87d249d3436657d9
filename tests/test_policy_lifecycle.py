"""Status follows the calendar (pending → active → expired, scheduled cancellations), open quotes
expire after their validity, and the daily huey tasks run those services on Bogotá time."""

import logging
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_guid import get_guid
from huey.contrib.djhuey import HUEY

from portal.audit.models import AuditEvent
from portal.core.dates import add_months
from portal.payments.services import payment_receive
from portal.policies import tasks
from portal.policies.models import Policy, Quote, RenewalReminder
from portal.policies.services import (
    policies_follow_dates,
    policy_cancel,
    policy_suspend,
    quote_accept,
    quote_decline,
    quotes_expire_overdue,
)
from portal.policies.tasks import morning_reminders, nightly_sweeps

from .factories import issue_policy, make_quote


def status_of(policy):
    policy.refresh_from_db()
    return policy.status


def status_events(policy):
    return list(
        AuditEvent.objects.filter(action="policy.status_changed", target_id=str(policy.pk))
        .order_by("id")
        .values_list("metadata", flat=True)
    )


# --- policies follow their dates ------------------------------------------------------------------------


def test_a_policy_starting_in_the_future_is_pending_and_becomes_active_on_its_start_date(db):
    start = timezone.localdate() + timedelta(days=10)
    policy = issue_policy(start_date=start)
    assert policy.status == Policy.Status.PENDING

    assert policies_follow_dates(today=start - timedelta(days=1)) == {}
    assert status_of(policy) == Policy.Status.PENDING

    assert policies_follow_dates(today=start) == {Policy.Status.ACTIVE: 1}
    assert status_of(policy) == Policy.Status.ACTIVE
    assert status_events(policy) == [{"from": "PENDING", "to": "ACTIVE", "on": start.isoformat()}]


def test_a_policy_is_still_active_on_its_last_day_and_expires_on_its_end_date_which_is_exclusive(db):
    policy = issue_policy()
    end = policy.current_version.end_date
    assert end == add_months(timezone.localdate(), 12)

    assert policies_follow_dates(today=end - timedelta(days=1)) == {}
    assert status_of(policy) == Policy.Status.ACTIVE

    assert policies_follow_dates(today=end) == {Policy.Status.EXPIRED: 1}
    assert status_of(policy) == Policy.Status.EXPIRED
    assert status_events(policy) == [{"from": "ACTIVE", "to": "EXPIRED", "on": end.isoformat()}]


def test_a_cancellation_scheduled_for_a_later_date_takes_effect_on_that_date(db):
    policy = issue_policy()
    cancel_on = timezone.localdate() + timedelta(days=40)
    policy = policy_cancel(
        policy=policy, actor=policy.customer.agent, effective_date=cancel_on, reason="Vendió el carro"
    )
    assert policy.status == Policy.Status.ACTIVE

    assert policies_follow_dates(today=cancel_on - timedelta(days=1)) == {}
    assert status_of(policy) == Policy.Status.ACTIVE

    assert policies_follow_dates(today=cancel_on) == {Policy.Status.CANCELLED: 1}
    assert status_of(policy) == Policy.Status.CANCELLED
    assert status_events(policy) == [{"from": "ACTIVE", "to": "CANCELLED", "on": cancel_on.isoformat()}]


def test_a_suspended_policy_stays_suspended_while_its_term_runs_and_expires_when_it_ends(db):
    policy = issue_policy()
    policy_suspend(policy=policy, actor=policy.customer.agent, reason="Prima sin pagar")
    end = policy.current_version.end_date

    assert policies_follow_dates(today=timezone.localdate() + timedelta(days=100)) == {}
    assert status_of(policy) == Policy.Status.SUSPENDED
    assert status_events(policy) == []

    assert policies_follow_dates(today=end) == {Policy.Status.EXPIRED: 1}
    assert status_of(policy) == Policy.Status.EXPIRED
    assert status_events(policy) == [{"from": "SUSPENDED", "to": "EXPIRED", "on": end.isoformat()}]


def test_a_pending_policy_whose_whole_term_has_passed_goes_straight_to_expired(db):
    start = timezone.localdate() + timedelta(days=5)
    policy = issue_policy(start_date=start)

    assert policies_follow_dates(today=policy.current_version.end_date) == {Policy.Status.EXPIRED: 1}
    assert status_of(policy) == Policy.Status.EXPIRED


def test_the_status_change_is_audited_as_the_scheduler(db):
    policy = issue_policy(start_date=timezone.localdate() + timedelta(days=1))

    policies_follow_dates(today=timezone.localdate() + timedelta(days=1))

    event = AuditEvent.objects.get(action="policy.status_changed")
    assert (event.actor, event.actor_label, event.target_type, event.target_label) == (
        None,
        "scheduler",
        "policies.policy",
        policy.number,
    )


def test_following_the_dates_a_second_time_changes_nothing_and_writes_no_events(db):
    expiring = issue_policy()
    starting = issue_policy(start_date=timezone.localdate() + timedelta(days=3))
    end = expiring.current_version.end_date
    day = timezone.localdate() + timedelta(days=3)

    assert policies_follow_dates(today=day) == {Policy.Status.ACTIVE: 1}
    starting.refresh_from_db()
    changed_at, events = starting.status_changed_at, AuditEvent.objects.count()

    assert policies_follow_dates(today=day) == {}
    starting.refresh_from_db()
    assert starting.status_changed_at == changed_at
    assert AuditEvent.objects.count() == events

    assert policies_follow_dates(today=end) == {Policy.Status.EXPIRED: 1}
    events = AuditEvent.objects.count()
    assert policies_follow_dates(today=end) == {}
    assert AuditEvent.objects.count() == events
    assert status_of(expiring) == Policy.Status.EXPIRED
    assert status_of(starting) == Policy.Status.ACTIVE


# --- quotes expire ------------------------------------------------------------------------------------------


def test_only_quoted_and_accepted_quotes_past_their_validity_expire(db):
    quoted = make_quote()
    accepted = quote_accept(quote=make_quote(), actor=quoted.customer.agent)
    draft = make_quote(present=False)
    declined = quote_decline(quote=make_quote(), actor=quoted.customer.agent, reason="Muy costoso")
    issued = issue_policy().quote
    valid_until = quoted.valid_until

    assert quotes_expire_overdue(today=valid_until) == 0
    assert quotes_expire_overdue(today=valid_until + timedelta(days=1)) == 2

    statuses = {quote.pk: quote.status for quote in Quote.objects.all()}
    assert statuses == {
        quoted.pk: Quote.Status.EXPIRED,
        accepted.pk: Quote.Status.EXPIRED,
        draft.pk: Quote.Status.DRAFT,
        declined.pk: Quote.Status.DECLINED,
        issued.pk: Quote.Status.ISSUED,
    }
    expired_events = AuditEvent.objects.filter(action="quote.expired")
    assert sorted(expired_events.values_list("target_id", flat=True)) == sorted([str(quoted.pk), str(accepted.pk)])
    assert quotes_expire_overdue(today=valid_until + timedelta(days=1)) == 0


# --- the periodic tasks ----------------------------------------------------------------------------------


def due_tasks(utc_timestamp):
    """What huey's scheduler would enqueue at that minute (it hands tasks a naive UTC timestamp)."""
    return {task.name for task in HUEY.read_periodic(utc_timestamp) if task.__module__ == "portal.policies.tasks"}


@pytest.mark.parametrize(
    ("utc_timestamp", "expected"),
    [
        (datetime(2026, 12, 1, 5, 5), {"nightly_sweeps"}),  # 00:05 in Bogotá
        (datetime(2026, 12, 1, 5, 10), set()),  # one nightly task, not one per sweep
        (datetime(2026, 12, 1, 13, 0), {"morning_reminders"}),  # 08:00 in Bogotá
        (datetime(2026, 12, 1, 0, 5), set()),  # 19:05 the day before in Bogotá
        (datetime(2026, 12, 1, 8, 0), set()),  # 03:00 in Bogotá
        (datetime(2026, 12, 1, 13, 1), set()),
        (datetime(2027, 6, 15, 13, 0), {"morning_reminders"}),  # every day of the year
    ],
)
def test_the_daily_tasks_are_scheduled_on_bogota_time(utc_timestamp, expected):
    assert HUEY.utc
    assert due_tasks(utc_timestamp) == expected


@pytest.fixture
def clock(monkeypatch):
    """Move the services' idea of today, as a night some days from now would."""

    def move_to(day):
        monkeypatch.setattr(tasks, "business_date", lambda: day)

    return move_to


def task_log(caplog, message):
    [record] = [record for record in caplog.records if record.name == "portal.policies.tasks" and record.msg == message]
    return record


def test_the_daily_status_task_moves_the_policies_whose_dates_have_come(db, clock, caplog):
    start = timezone.localdate() + timedelta(days=1)
    policy = issue_policy(start_date=start)
    clock(start)

    with caplog.at_level(logging.INFO, logger="portal.policies.tasks"):
        nightly_sweeps()

    assert status_of(policy) == Policy.Status.ACTIVE
    record = task_log(caplog, "policies followed their dates")
    assert (record.changes, record.changed) == ({"ACTIVE": 1}, 1)
    event = AuditEvent.objects.get(action="policy.status_changed")
    assert len(event.correlation_id) == 32
    assert get_guid() is None


def test_the_daily_quote_task_expires_the_quotes_past_their_validity(db, clock, caplog):
    quote = make_quote()
    clock(quote.valid_until + timedelta(days=1))

    with caplog.at_level(logging.INFO, logger="portal.policies.tasks"):
        nightly_sweeps()

    quote.refresh_from_db()
    assert quote.status == Quote.Status.EXPIRED
    assert task_log(caplog, "overdue quotes expired").expired == 1


def test_the_daily_reminder_task_emails_the_customers_whose_policies_end_in_30_days(
    db, clock, caplog, django_capture_on_commit_callbacks
):
    policy = issue_policy()
    # Paid up: the morning's overdue reminders have nothing to say to this customer.
    payment_receive(
        customer=policy.customer,
        amount=policy.current_version.premium,
        currency=policy.current_version.currency,
        method="CASH",
        reference="RC-PAID-UP",
        actor=policy.customer.agent,
    )
    clock(policy.current_version.end_date - timedelta(days=30))

    with (
        caplog.at_level(logging.INFO, logger="portal.policies.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        morning_reminders()

    assert [message.to for message in mail.outbox] == [[policy.customer.email_primary]]
    assert RenewalReminder.objects.get(policy=policy).stage == RenewalReminder.Stage.DAYS_30
    assert task_log(caplog, "renewal reminders sent").sent == 1


def test_the_nightly_task_runs_its_sweeps_in_business_order_on_one_business_date(monkeypatch, clock):
    night = timezone.localdate() + timedelta(days=3)
    clock(night)
    calls = []

    def recording(name, result):
        def sweep(*, today):
            calls.append((name, today))
            return result

        return sweep

    monkeypatch.setattr(tasks, "policies_follow_dates", recording("follow dates", {}))
    monkeypatch.setattr(tasks, "quotes_expire_overdue", recording("expire quotes", 0))
    monkeypatch.setattr(tasks, "policies_lapse_overdue", recording("lapse", 0))
    monkeypatch.setattr(tasks, "renewal_reminders_send", recording("renewal reminders", 0))
    monkeypatch.setattr(tasks, "instalment_reminders_send", recording("overdue reminders", 0))

    nightly_sweeps()
    morning_reminders()

    assert calls == [
        ("follow dates", night),
        ("expire quotes", night),
        ("lapse", night),
        ("renewal reminders", night),
        ("overdue reminders", night),
    ]
