"""Renewals: the next term as a new linked policy, and the reminders that it is time to renew."""

from django.db import IntegrityError, transaction

from portal.audit.services import audit_record
from portal.core.dates import business_date, whole_years_between
from portal.notifications.services import email_queue

from ..documents import renewal_reminder_email
from ..lifecycle import (
    check_renewable,
)
from ..models import Policy, RenewalReminder
from ..selectors import ending_soon_q
from .issuance import policy_issue
from .quotes import quote_accept, quote_create
from .shared import (
    lock_policy,
)


@transaction.atomic
def policy_renew(*, policy, actor, as_of=None):
    """Renew for the next term at today's rates: a renewal quote, accepted and issued as a new policy
    that starts the day this one ends and is linked to it."""
    policy = lock_policy(policy)
    today = business_date(as_of)
    check_renewable(policy, today)
    current = policy.current_version
    start = max(current.end_date, today)
    age = None
    if policy.product.requires_age:
        # Without a birth date on file, the age declared last term grows with the years passed.
        age = policy.customer.age_on(start)
        if age is None:
            age = current.insured_age + whole_years_between(current.start_date, start)
    quote = quote_create(
        actor=actor,
        customer=policy.customer,
        product=policy.product,
        start_date=start,
        sum_insured=current.sum_insured,
        coverage_codes=[line["code"] for line in current.coverages],
        insured_age=age,
        renewal_of=policy,
        payment_frequency=policy.payment_frequency,
        as_of=as_of,
    )
    quote = quote_accept(quote=quote, actor=actor, as_of=as_of)
    return policy_issue(quote=quote, actor=actor, as_of=as_of)


def renewal_reminder_stage(*, end_date, today):
    """Which reminder is due: 30 days out, then 7 days out; None outside those windows."""
    days_left = (end_date - today).days
    if 7 < days_left <= 30:
        return RenewalReminder.Stage.DAYS_30
    if 0 < days_left <= 7:
        return RenewalReminder.Stage.DAYS_7
    return None


def renewal_reminders_due(*, today):
    return (
        Policy.objects.filter(ending_soon_q(today=today, days=RenewalReminder.Stage.DAYS_30))
        .exclude(customer__email_primary="")
        .select_related("customer", "customer__agent", "product", "current_version")
        .order_by("pk")
    )


def renewal_reminder_record(*, policy, stage):
    """Claim the right to send `stage` for `policy`: True once, False every later time (a unique row)."""
    try:
        with transaction.atomic():
            reminder = RenewalReminder.objects.create(policy=policy, stage=stage, email=policy.customer.email_primary)
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="policy.renewal_reminder_sent",
                target=policy,
                metadata={"stage": stage, "to": reminder.email, "ends": policy.current_version.end_date.isoformat()},
            )
    except IntegrityError:
        return False
    return True


def renewal_reminders_send(*, today=None):
    """Daily: email each customer whose policy ends in 30 or 7 days, once per policy and stage.

    The reminder row is written first and the email is queued only when that row's transaction
    commits, so two schedulers running at once still send one email.
    """
    today = business_date(today)
    sent = 0
    for policy in renewal_reminders_due(today=today).iterator(chunk_size=500):
        stage = renewal_reminder_stage(end_date=policy.current_version.end_date, today=today)
        if stage is None:
            continue
        # The row, the rendered email and its queueing stand or fall together.
        with transaction.atomic():
            if not renewal_reminder_record(policy=policy, stage=stage):
                continue
            message = renewal_reminder_email(policy=policy, stage=stage, today=today)
            email_queue(**message)
        sent += 1
    return sent
