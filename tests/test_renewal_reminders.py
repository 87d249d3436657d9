"""Renewal reminders: an email 30 days and another 7 days before a policy ends, never twice, never
for policies that will not be renewed, and exactly once even when two schedulers run at once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone, translation
from django.utils.formats import date_format

from portal.audit.models import AuditEvent
from portal.core.money import format_money
from portal.policies.documents import renewal_reminder_email
from portal.policies.models import RenewalReminder
from portal.policies.services import policy_cancel, policy_renew, renewal_reminders_send

from .factories import CustomerFactory, ProductFactory, issue_policy


def ends(policy):
    return policy.current_version.end_date


def stages_sent(policy):
    return sorted(RenewalReminder.objects.filter(policy=policy).values_list("stage", flat=True))


def spanish_date(day):
    with translation.override("es-co"):
        return date_format(day, "DATE_FORMAT")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run the daily send on `today`, with the emails it queues on commit actually sent."""

    def run(today):
        with django_capture_on_commit_callbacks(execute=True):
            return renewal_reminders_send(today=today)

    return run


def test_a_policy_ending_in_30_days_gets_the_30_day_reminder_only_once(db, send):
    policy = issue_policy()
    day = ends(policy) - timedelta(days=30)

    assert send(day) == 1
    assert send(day) == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [policy.customer.email_primary]
    assert stages_sent(policy) == [30]
    reminder = RenewalReminder.objects.get(policy=policy)
    assert reminder.email == policy.customer.email_primary
    event = AuditEvent.objects.get(action="policy.renewal_reminder_sent")
    assert event.metadata == {"stage": 30, "to": policy.customer.email_primary, "ends": ends(policy).isoformat()}


def test_the_7_day_reminder_follows_7_days_before_the_end(db, send):
    policy = issue_policy()

    send(ends(policy) - timedelta(days=30))
    assert send(ends(policy) - timedelta(days=7)) == 1
    assert send(ends(policy) - timedelta(days=7)) == 0

    assert len(mail.outbox) == 2
    assert stages_sent(policy) == [7, 30]


def test_after_the_30_day_reminder_nothing_more_is_sent_until_7_days_before_the_end(db, send):
    policy = issue_policy()
    send(ends(policy) - timedelta(days=30))

    for days_left in (29, 10, 8):
        assert send(ends(policy) - timedelta(days=days_left)) == 0
    assert len(mail.outbox) == 1

    assert send(ends(policy) - timedelta(days=7)) == 1
    assert len(mail.outbox) == 2


def test_no_reminder_is_sent_more_than_30_days_before_the_end_or_once_the_policy_has_ended(db, send):
    policy = issue_policy()

    assert send(ends(policy) - timedelta(days=31)) == 0
    assert send(ends(policy)) == 0

    assert mail.outbox == []
    assert stages_sent(policy) == []


def test_a_policy_first_seen_10_days_before_its_end_still_gets_the_30_day_reminder_once(db, send):
    policy = issue_policy()

    assert send(ends(policy) - timedelta(days=10)) == 1
    assert send(ends(policy) - timedelta(days=9)) == 0

    assert stages_sent(policy) == [30]


def test_no_reminder_for_a_cancelled_policy_nor_one_whose_cancellation_is_scheduled(db, send):
    cancelled = issue_policy()
    policy_cancel(
        policy=cancelled, actor=cancelled.customer.agent, effective_date=timezone.localdate(), reason="Desistió"
    )
    scheduled = issue_policy()
    policy_cancel(
        policy=scheduled,
        actor=scheduled.customer.agent,
        effective_date=ends(scheduled) - timedelta(days=5),
        reason="Vende el carro",
    )

    for days_left in (30, 7):
        assert send(ends(cancelled) - timedelta(days=days_left)) == 0
    assert mail.outbox == []
    assert RenewalReminder.objects.count() == 0


def test_no_reminder_for_a_policy_that_has_already_been_renewed(db, send):
    policy = issue_policy(product=ProductFactory(term_months=1))
    renewal = policy_renew(policy=policy, actor=policy.customer.agent)
    assert renewal.renewal_of == policy

    for days_left in (30, 7):
        assert send(ends(policy) - timedelta(days=days_left)) == 0
    assert mail.outbox == []
    assert RenewalReminder.objects.filter(policy=policy).count() == 0


def test_no_reminder_for_a_customer_without_an_email(db, send):
    policy = issue_policy(customer=CustomerFactory(email_primary=""))

    assert send(ends(policy) - timedelta(days=30)) == 0
    assert mail.outbox == []
    assert stages_sent(policy) == []


def test_the_reminder_is_in_spanish_and_names_the_policy_its_end_date_and_the_agent(db, send):
    policy = issue_policy()
    agent = policy.customer.agent

    send(ends(policy) - timedelta(days=30))

    [message] = mail.outbox
    html = message.alternatives[0][0]
    end = spanish_date(ends(policy))
    assert policy.number in message.subject
    assert end in message.subject
    assert message.subject.startswith("Su póliza")
    for text in (message.body, html):
        assert policy.number in text
        assert end in text
        assert policy.product.name in text
        assert agent.full_name in text
        assert agent.email_primary in text
        assert "renueve antes de esa fecha" in text
    assert "Dear" not in message.body


def test_the_reminder_says_how_many_days_are_left_and_the_current_premium(db):
    policy = issue_policy()
    version = policy.current_version

    message = renewal_reminder_email(
        policy=policy, stage=RenewalReminder.Stage.DAYS_30, today=ends(policy) - timedelta(days=30)
    )

    with translation.override("es-co"):
        premium = format_money(version.premium, version.currency)
    assert "30 días" in message["body"]
    assert premium in message["body"]
    assert premium in message["html"]
    assert message["to"] == [policy.customer.email_primary]


def test_the_last_reminder_says_it_is_the_last_one(db):
    policy = issue_policy()

    message = renewal_reminder_email(
        policy=policy, stage=RenewalReminder.Stage.DAYS_7, today=ends(policy) - timedelta(days=7)
    )

    assert message["subject"].startswith("Último aviso")
    assert "7 días" in message["body"]


def test_the_reminder_can_be_written_in_english(db):
    policy = issue_policy()
    day = ends(policy) - timedelta(days=7)

    message = renewal_reminder_email(policy=policy, stage=RenewalReminder.Stage.DAYS_7, today=day, language="en")

    with translation.override("en"):
        end = date_format(ends(policy), "DATE_FORMAT")
        premium = format_money(Decimal(policy.current_version.premium), "COP")
    assert message["subject"] == f"Last reminder: your policy {policy.number} ends on {end}"
    assert "in 7 days" in message["body"]
    assert premium in message["body"]


def test_a_customers_name_cannot_inject_markup_into_the_html_reminder(db):
    policy = issue_policy(customer=CustomerFactory(full_name="<b>Ana</b> & Co"))

    message = renewal_reminder_email(policy=policy, stage=RenewalReminder.Stage.DAYS_30)

    assert "&lt;b&gt;Ana&lt;/b&gt; &amp; Co" in message["html"]
    assert "<b>Ana</b> & Co" in message["body"]


@pytest.mark.postgres
def test_two_schedulers_sending_at_the_same_moment_send_one_email_per_policy_and_stage(transactional_db):
    policies = [issue_policy() for _ in range(3)]
    day = ends(policies[0]) - timedelta(days=30)
    start = threading.Barrier(2)
    outcomes = []

    def scheduler():
        try:
            start.wait()
            outcomes.append(renewal_reminders_send(today=day))
        except Exception as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert sum(outcomes) == 3
    assert sorted(len(message.to) for message in mail.outbox) == [1, 1, 1]
    assert sorted(message.to[0] for message in mail.outbox) == sorted(p.customer.email_primary for p in policies)
    assert RenewalReminder.objects.count() == 3
    assert AuditEvent.objects.filter(action="policy.renewal_reminder_sent").count() == 3
