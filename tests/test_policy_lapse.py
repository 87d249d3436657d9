"""Lapse for non-payment: a policy with an instalment unpaid past the grace period (AMPARO_LAPSE_GRACE_DAYS)
becomes LAPSED through `policy_lapse`; the instalments due later are cancelled, what fell due before
stays owed; a policy paid up, or whose credit covers what is due, never lapses."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.core.exceptions import Conflict
from portal.payments.models import Instalment, LedgerEntry
from portal.payments.services import payment_receive
from portal.policies.lifecycle import policy_actions_available
from portal.policies.models import Policy
from portal.policies.services import (
    policies_follow_dates,
    policies_lapse_overdue,
    policy_issue,
    policy_lapse,
    policy_renew,
    policy_suspend,
    quote_accept,
    quote_create,
)

from .factories import ProductFactory

MONTHLY = Decimal("380800.00")


@pytest.fixture
def monthly(agent, customer):
    """A monthly policy (COP 380,800 a month) that started 40 days ago and is active."""
    start = timezone.localdate() - timedelta(days=40)
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=ProductFactory(code="AUTO"),
        start_date=start,
        sum_insured="100000000",
        coverage_codes=["RC", "PT"],
        payment_frequency="MONTHLY",
        as_of=start,
    )
    policy = policy_issue(quote=quote_accept(quote=quote, actor=agent, as_of=start), actor=agent, as_of=start)
    policies_follow_dates()
    return Policy.objects.get(pk=policy.pk)


def reloaded(policy):
    return Policy.objects.select_related("current_version").get(pk=policy.pk)


def statuses(policy):
    return list(Instalment.objects.filter(policy=policy).order_by("sequence").values_list("status", flat=True))


def test_a_policy_with_an_instalment_unpaid_past_the_grace_period_lapses(monthly):
    assert policies_lapse_overdue() == 1

    policy = reloaded(monthly)
    assert policy.status == Policy.Status.LAPSED
    assert statuses(policy)[:2] == ["OPEN", "OPEN"]
    assert set(statuses(policy)[2:]) == {"CANCELLED"}
    event = AuditEvent.objects.get(action="policy.lapsed")
    assert event.actor_label == "scheduler"
    assert event.metadata["instalment"] == 1
    assert event.metadata["outstanding"] == str(MONTHLY)
    assert event.metadata["instalments_cancelled"] == 10


def test_the_instalments_that_fell_due_before_the_lapse_stay_owed(monthly):
    policies_lapse_overdue()

    owed = sum(LedgerEntry.objects.filter(account__customer=monthly.customer).values_list("amount", flat=True))
    assert owed == MONTHLY * 2


def test_the_daily_run_lapses_each_policy_once(monthly):
    assert policies_lapse_overdue() == 1
    assert policies_lapse_overdue() == 0

    assert AuditEvent.objects.filter(action="policy.lapsed").count() == 1


def test_within_the_grace_period_nothing_lapses(monthly):
    assert policies_lapse_overdue(today=timezone.localdate() - timedelta(days=10)) == 0

    assert reloaded(monthly).status == Policy.Status.ACTIVE


@override_settings(AMPARO_LAPSE_GRACE_DAYS=60)
def test_the_grace_period_comes_from_the_setting(monthly):
    assert policies_lapse_overdue() == 0

    assert reloaded(monthly).status == Policy.Status.ACTIVE


def test_a_policy_paid_up_does_not_lapse(monthly, finance_user):
    payment_receive(
        customer=monthly.customer, amount=MONTHLY, currency="COP", method="CASH", reference="M1", actor=finance_user
    )

    assert policies_lapse_overdue() == 0
    assert reloaded(monthly).status == Policy.Status.ACTIVE


def test_a_policy_whose_credit_covers_what_is_due_does_not_lapse(monthly, customer, finance_user):
    from portal.payments.models import LedgerAccount

    account = LedgerAccount.objects.get(customer=customer)
    LedgerEntry.objects.create(
        account=account,
        kind=LedgerEntry.Kind.REFUND,
        amount=-MONTHLY * 3,
        currency="COP",
        posted_on=timezone.localdate(),
    )

    assert policies_lapse_overdue() == 0


def test_a_suspended_policy_lapses_too(monthly, agent):
    policy_suspend(policy=monthly, actor=agent, reason="Two instalments late")

    assert policies_lapse_overdue() == 1
    assert reloaded(monthly).status == Policy.Status.LAPSED


def test_lapsing_a_policy_with_nothing_overdue_is_refused_and_changes_nothing(monthly, finance_user):
    payment_receive(
        customer=monthly.customer, amount=MONTHLY * 2, currency="COP", method="CASH", reference="M2", actor=finance_user
    )

    with pytest.raises(ValidationError) as refused:
        policy_lapse(policy=monthly, actor=None)

    assert "does not lapse" in refused.value.messages[0]
    assert reloaded(monthly).status == Policy.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="policy.lapsed").exists()


def test_a_lapsed_policy_cannot_lapse_again_be_renewed_endorsed_or_cancelled(monthly, agent):
    policy_lapse(policy=monthly, actor=None)
    policy = reloaded(monthly)

    with pytest.raises(Conflict):
        policy_lapse(policy=policy, actor=None)
    with pytest.raises(Conflict):
        policy_renew(policy=policy, actor=agent, as_of=policy.current_version.end_date - timedelta(days=5))
    actions = policy_actions_available(policy)
    assert not any(actions[action] for action in ("endorse", "cancel", "suspend", "reinstate", "renew"))


def test_the_daily_date_run_leaves_a_lapsed_policy_lapsed(monthly):
    policy_lapse(policy=monthly, actor=None)

    policies_follow_dates(today=monthly.current_version.end_date + timedelta(days=1))

    assert reloaded(monthly).status == Policy.Status.LAPSED
