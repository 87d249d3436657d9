"""Overdue reminders: one email when an instalment is a day overdue and another at fifteen days, never
twice per instalment and stage (also with two schedulers at once), none for what is paid, covered
by credit, or on a policy that no longer gives cover."""

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
from portal.payments.documents import overdue_reminder_email
from portal.payments.models import Instalment, InstalmentReminder
from portal.payments.services import instalment_reminders_send, overdue_reminder_stage, payment_receive
from portal.policies.services import policy_issue, policy_lapse, quote_accept, quote_create

from .factories import CustomerFactory, ProductFactory

ANNUAL = Decimal("4569600.00")


@pytest.fixture
def policy(agent, customer):
    """An annual policy starting today: its one instalment is due today."""
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=ProductFactory(code="AUTO"),
        start_date=timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=["RC", "PT"],
    )
    return policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def run(today):
        with django_capture_on_commit_callbacks(execute=True):
            return instalment_reminders_send(today=today)

    return run


def days_after_due(policy, days):
    return Instalment.objects.get(policy=policy).due_date + timedelta(days=days)


def stages_sent(policy):
    return sorted(InstalmentReminder.objects.filter(instalment__policy=policy).values_list("stage", flat=True))


@pytest.mark.parametrize(("days", "stage"), [(-3, None), (0, None), (1, 1), (14, 1), (15, 15), (40, 15)])
def test_the_stage_follows_the_days_overdue(days, stage):
    today = timezone.localdate()
    assert overdue_reminder_stage(due_date=today - timedelta(days=days), today=today) == stage


def test_a_day_overdue_the_customer_gets_one_reminder_and_only_once(policy, send):
    assert send(days_after_due(policy, 0)) == 0
    assert send(days_after_due(policy, 1)) == 1
    assert send(days_after_due(policy, 1)) == 0
    assert send(days_after_due(policy, 7)) == 0

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [policy.customer.email_primary]
    assert policy.number in message.subject
    assert stages_sent(policy) == [1]
    event = AuditEvent.objects.get(action="payment.overdue_reminder_sent")
    assert event.metadata["stage"] == 1 and event.metadata["to"] == policy.customer.email_primary


def test_at_fifteen_days_the_second_notice_follows_once(policy, send):
    send(days_after_due(policy, 1))

    assert send(days_after_due(policy, 15)) == 1
    assert send(days_after_due(policy, 20)) == 0

    assert stages_sent(policy) == [1, 15]
    assert mail.outbox[1].subject.startswith("Segundo aviso")


def test_a_scheduler_that_missed_the_first_days_sends_only_the_stage_due_now(policy, send):
    assert send(days_after_due(policy, 16)) == 1

    assert stages_sent(policy) == [15]


def test_a_paid_instalment_gets_no_reminder(policy, send, finance_user):
    payment_receive(
        customer=policy.customer, amount=ANNUAL, currency="COP", method="CASH", reference="R", actor=finance_user
    )

    assert send(days_after_due(policy, 2)) == 0


def test_a_lapsed_policy_gets_no_more_reminders(policy, send):
    policy_lapse(policy=policy, actor=None, as_of=days_after_due(policy, 31))

    assert send(days_after_due(policy, 32)) == 0


def test_a_customer_without_email_gets_no_reminder(agent, send):
    customer = CustomerFactory(agent=agent, email_primary="")
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=ProductFactory(code="AUTO"),
        start_date=timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=["RC"],
    )
    policy = policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)

    assert send(days_after_due(policy, 1)) == 0


def test_the_reminder_is_in_spanish_with_the_amount_unpaid_and_the_lapse_date(policy):
    instalment = Instalment.objects.get(policy=policy)
    today = days_after_due(policy, 1)

    message = overdue_reminder_email(instalment=instalment, stage=1, today=today)

    with translation.override("es-co"):
        amount = format_money(ANNUAL, "COP")
        lapses = date_format(instalment.due_date + timedelta(days=31), "DATE_FORMAT")
    assert amount in message["body"]
    assert lapses in message["body"]
    assert policy.customer.agent.email_primary in message["body"]
    assert message["html"].startswith("<!DOCTYPE html>")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_running_at_once_send_one_reminder(policy):
    day = days_after_due(policy, 1)
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def run():
        try:
            barrier.wait(timeout=30)
            counts.append(instalment_reminders_send(today=day))
        except Exception as error:  # asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(counts) == [0, 1]
    assert InstalmentReminder.objects.count() == 1
    assert len(mail.outbox) == 1
