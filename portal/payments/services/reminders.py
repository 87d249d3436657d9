"""Overdue instalments: the customer is reminded one and fifteen days after the due date, once each."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from portal.audit.services import audit_record
from portal.core.dates import business_date
from portal.notifications.services import email_queue

from ..documents import overdue_reminder_email
from ..models import (
    Instalment,
    InstalmentReminder,
)
from ..selectors import LIVE_POLICY_STATUSES, balance_due


def overdue_reminder_stage(*, due_date, today):
    """Which reminder an open instalment is due: one day overdue, then fifteen; None before that."""
    days = (today - due_date).days
    if days >= InstalmentReminder.Stage.DAYS_15:
        return InstalmentReminder.Stage.DAYS_15
    if days >= InstalmentReminder.Stage.DAYS_1:
        return InstalmentReminder.Stage.DAYS_1
    return None


def _reminder_candidates(today):
    def without(stage):
        return ~Exists(InstalmentReminder.objects.filter(instalment=OuterRef("pk"), stage=stage))

    fifteen = InstalmentReminder.Stage.DAYS_15
    return (
        Instalment.objects.filter(
            status=Instalment.Status.OPEN,
            policy__status__in=LIVE_POLICY_STATUSES,
        )
        .filter(
            Q(due_date__lte=today - timedelta(days=fifteen)) & without(fifteen)
            | Q(due_date__gt=today - timedelta(days=fifteen), due_date__lt=today)
            & without(InstalmentReminder.Stage.DAYS_1)
        )
        .exclude(account__customer__email_primary="")
        .select_related("account__customer__agent", "policy__product", "policy__current_version")
        .order_by("pk")
    )


def instalment_reminder_record(*, instalment, stage):
    """Claim the right to send `stage` for `instalment`: True once, False every later time (a unique row)."""
    try:
        with transaction.atomic():
            reminder = InstalmentReminder.objects.create(
                instalment=instalment, stage=stage, email=instalment.account.customer.email_primary
            )
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="payment.overdue_reminder_sent",
                target=instalment.policy,
                metadata={
                    "instalment": instalment.sequence,
                    "stage": stage,
                    "to": reminder.email,
                    "due": instalment.due_date.isoformat(),
                },
            )
    except IntegrityError:
        return False
    return True


def instalment_reminders_send(*, today=None):
    """Daily: email each customer with an instalment 1 and 15 days overdue, once per instalment and stage.

    Nothing is sent while the account's credit covers what is due. The reminder row is written
    first and the email queued when its transaction commits, so two runs at once send one email.
    """
    today = business_date(today)
    sent = 0
    for instalment in _reminder_candidates(today).iterator(chunk_size=500):
        stage = overdue_reminder_stage(due_date=instalment.due_date, today=today)
        if stage is None or balance_due(instalment.account, on=today) <= 0:
            continue
        with transaction.atomic():
            if not instalment_reminder_record(instalment=instalment, stage=stage):
                continue
            message = overdue_reminder_email(instalment=instalment, stage=stage, today=today)
            email_queue(**message)
        sent += 1
    return sent
