"""Premium schedules: issuing a policy creates instalments that add up exactly to the premium, and
endorsements, cancellations and reinstatements change only what is still open.

The factories' product prices COP 100,000,000 with both coverages at COP 4,569,600 a year.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from portal.core.dates import add_months
from portal.payments.models import Instalment, LedgerAccount, LedgerEntry
from portal.payments.schedule import premium_schedule, split_amount
from portal.payments.services import payment_receive
from portal.policies.models import PaymentFrequency, PolicyVersion
from portal.policies.services import (
    policy_cancel,
    policy_endorse,
    policy_issue,
    policy_reinstate,
    policy_renew,
    quote_accept,
    quote_create,
)

from .factories import issue_policy

PREMIUM = Decimal("4569600.00")
CENT = Decimal("0.01")

premiums = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2)
frequencies = st.sampled_from(PaymentFrequency.values)
starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
terms = st.integers(min_value=1, max_value=36)


# --- the arithmetic, for any premium and frequency ------------------------------------------------------


@given(total=premiums, count=st.integers(min_value=1, max_value=36))
def test_the_parts_always_add_up_to_the_total_with_the_remainder_on_the_last(total, count):
    parts = split_amount(total, count)

    assert sum(parts) == total
    assert all(part > 0 and part == part.quantize(CENT) for part in parts)
    assert len(set(parts[:-1])) <= 1
    assert parts[-1] >= parts[0]
    assert parts[-1] - parts[0] < CENT * len(parts)


@given(premium=premiums, frequency=frequencies, start=starts, months=terms)
def test_a_schedule_always_adds_up_to_the_premium_with_due_dates_inside_the_term(premium, frequency, start, months):
    end = add_months(start, months)

    schedule = premium_schedule(premium=premium, start_date=start, end_date=end, frequency=frequency)

    assert sum(amount for _due, amount in schedule) == premium
    dates = [due for due, _amount in schedule]
    assert dates[0] == start
    assert dates == sorted(dates)
    assert all(start <= due < end for due in dates)


@pytest.mark.parametrize(
    ("frequency", "count", "months_apart"),
    [("ANNUAL", 1, 12), ("SEMIANNUAL", 2, 6), ("QUARTERLY", 4, 3), ("MONTHLY", 12, 1)],
)
def test_a_twelve_month_term_has_one_instalment_per_period(frequency, count, months_apart):
    start = date(2026, 1, 31)
    schedule = premium_schedule(premium=PREMIUM, start_date=start, end_date=add_months(start, 12), frequency=frequency)

    assert len(schedule) == count
    assert [due for due, _amount in schedule] == [add_months(start, months_apart * n) for n in range(count)]


def test_a_premium_of_fewer_cents_than_instalments_is_due_in_as_many_instalments_as_it_has_cents():
    start = date(2026, 3, 1)
    schedule = premium_schedule(
        premium=Decimal("0.03"), start_date=start, end_date=add_months(start, 12), frequency="MONTHLY"
    )

    assert [amount for _due, amount in schedule] == [CENT, CENT, CENT]


def test_a_premium_of_zero_has_no_instalments():
    assert split_amount(Decimal("0.00"), 12) == []


def test_monthly_instalments_of_a_premium_that_does_not_divide_put_the_remainder_on_the_last():
    assert split_amount(Decimal("100.00"), 12) == [Decimal("8.33")] * 11 + [Decimal("8.37")]


# --- issuing ---------------------------------------------------------------------------------------------


def issue(agent, customer, product, *, frequency="ANNUAL", coverage_codes=("RC", "PT")):
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=product,
        start_date=timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=list(coverage_codes),
        payment_frequency=frequency,
    )
    return policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)


def schedule_of(policy):
    return list(Instalment.objects.filter(policy=policy).order_by("sequence"))


def amounts(policy):
    return [instalment.amount for instalment in schedule_of(policy)]


@pytest.mark.parametrize(("frequency", "count"), [("ANNUAL", 1), ("SEMIANNUAL", 2), ("QUARTERLY", 4), ("MONTHLY", 12)])
def test_issuing_a_policy_creates_its_instalments_and_a_premium_due_entry_for_each(
    agent, customer, product, frequency, count
):
    policy = issue(agent, customer, product, frequency=frequency)

    instalments = schedule_of(policy)
    assert len(instalments) == count
    assert sum(amounts(policy)) == PREMIUM
    assert policy.payment_frequency == frequency
    assert instalments[0].due_date == policy.current_version.start_date
    assert {i.status for i in instalments} == {Instalment.Status.OPEN}
    assert {i.policy_version_id for i in instalments} == {policy.current_version_id}
    account = LedgerAccount.objects.get(customer=customer, currency="COP")
    entries = LedgerEntry.objects.filter(account=account, kind=LedgerEntry.Kind.PREMIUM_DUE).order_by("posted_on")
    assert [(e.instalment_id, e.amount, e.posted_on) for e in entries] == [
        (i.pk, i.amount, i.due_date) for i in instalments
    ]


def test_a_policy_without_a_chosen_frequency_is_paid_annually(agent, customer, product):
    policy = issue_policy(actor=agent, customer=customer, product=product)

    assert policy.payment_frequency == PaymentFrequency.ANNUAL
    assert amounts(policy) == [PREMIUM]


def test_an_unknown_frequency_is_refused_and_nothing_is_created(agent, customer, product):
    with pytest.raises(ValidationError) as refused:
        quote_create(
            actor=agent,
            customer=customer,
            product=product,
            start_date=timezone.localdate(),
            sum_insured="100000000",
            coverage_codes=["RC"],
            payment_frequency="WEEKLY",
        )

    assert "payment_frequency" in refused.value.message_dict
    assert not Instalment.objects.exists()


def test_a_renewal_is_scheduled_at_the_frequency_of_the_policy_it_renews(agent, customer, product, today):
    policy = issue(agent, customer, product, frequency="QUARTERLY")

    renewal = policy_renew(policy=policy, actor=agent, as_of=policy.current_version.end_date - timedelta(days=10))

    assert renewal.payment_frequency == "QUARTERLY"
    assert len(schedule_of(renewal)) == 4
    assert schedule_of(renewal)[0].due_date == policy.current_version.end_date
    assert sum(amounts(renewal)) == renewal.current_version.premium


# --- changes only touch what is open ------------------------------------------------------------------------


def pay(policy, amount, reference, actor):
    return payment_receive(
        customer=policy.customer, amount=amount, currency="COP", method="CASH", reference=reference, actor=actor
    )


def test_an_endorsement_charge_is_spread_over_the_open_instalments_from_its_effective_date(
    agent, customer, product, today
):
    policy = issue(agent, customer, product, frequency="QUARTERLY", coverage_codes=["RC"])
    before = amounts(policy)
    pay(policy, before[0], "Q1", agent)
    effective = today + timedelta(days=100)

    policy = policy_endorse(
        policy=policy, actor=agent, effective_date=effective, reason="Add PT", coverage_codes=["PT"]
    )

    version = policy.current_version
    instalments = schedule_of(policy)
    assert sum(amounts(policy)) == sum(before) + version.premium_change
    assert instalments[0].amount == before[0]
    assert instalments[0].status == Instalment.Status.PAID
    assert instalments[0].policy_version.number == 1
    changed = [i for i in instalments if i.due_date >= effective]
    assert changed and all(i.policy_version_id == version.pk for i in changed)
    assert sum(i.amount - i.scheduled_amount for i in changed) == version.premium_change
    adjustments = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT, policy_version=version)
    assert sum(e.amount for e in adjustments) == version.premium_change


def test_a_charge_after_the_last_open_instalment_is_due_as_a_new_instalment_on_its_effective_date(
    agent, customer, product, today
):
    policy = issue(agent, customer, product, coverage_codes=["RC"])
    pay(policy, policy.current_version.premium, "ANNUAL-1", agent)
    effective = today + timedelta(days=30)

    policy = policy_endorse(
        policy=policy, actor=agent, effective_date=effective, reason="Add PT", coverage_codes=["PT"]
    )

    first, extra = schedule_of(policy)
    assert first.status == Instalment.Status.PAID and first.amount == first.scheduled_amount
    assert (extra.sequence, extra.due_date, extra.amount) == (2, effective, policy.current_version.premium_change)
    assert LedgerEntry.objects.get(instalment=extra).kind == LedgerEntry.Kind.PREMIUM_DUE


def test_a_cancellation_takes_the_return_off_the_latest_open_instalments_and_never_off_paid_ones(
    agent, customer, product, today
):
    policy = issue(agent, customer, product, frequency="MONTHLY")
    first_two = sum(amounts(policy)[:2])
    pay(policy, first_two, "TWO-MONTHS", agent)
    effective = add_months(today, 2)

    policy = policy_cancel(policy=policy, actor=agent, effective_date=effective, reason="Sold the car")

    refund = -policy.current_version.premium_change
    instalments = schedule_of(policy)
    assert [i.status for i in instalments[:2]] == [Instalment.Status.PAID] * 2
    assert [i.amount for i in instalments[:2]] == [i.scheduled_amount for i in instalments[:2]]
    cancelled = [i for i in instalments if i.status == Instalment.Status.CANCELLED]
    assert cancelled and all(i.amount == 0 for i in cancelled)
    assert sum(i.scheduled_amount - i.amount for i in instalments) == refund
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def test_a_return_beyond_what_is_open_becomes_a_credit_for_the_customer(agent, customer, product, today):
    policy = issue(agent, customer, product)
    pay(policy, PREMIUM, "PAID-IN-FULL", agent)

    policy = policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Changed insurer")

    (instalment,) = schedule_of(policy)
    assert (instalment.status, instalment.amount, instalment.amount_paid) == (Instalment.Status.PAID, PREMIUM, PREMIUM)
    refund = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND)
    assert refund.amount == policy.current_version.premium_change == -PREMIUM
    assert refund.policy_version == policy.current_version
    account = LedgerAccount.objects.get(customer=customer)
    assert sum(account.entries.values_list("amount", flat=True)) == -PREMIUM


def test_a_partly_paid_instalment_keeps_what_was_paid_when_a_return_takes_the_rest(agent, customer, product, today):
    policy = issue(agent, customer, product)
    pay(policy, Decimal("1000000.00"), "PART", agent)

    policy = policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Changed insurer")

    (instalment,) = schedule_of(policy)
    assert (instalment.amount, instalment.amount_paid, instalment.status) == (
        Decimal("1000000.00"),
        Decimal("1000000.00"),
        Instalment.Status.PAID,
    )
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND).amount == Decimal("-1000000.00")


def test_reinstating_a_cancellation_charges_back_what_it_returned(agent, customer, product, today):
    policy = issue(agent, customer, product, frequency="QUARTERLY")
    cancelled = policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=40), reason="Asked")
    returned = -cancelled.current_version.premium_change

    policy = policy_reinstate(policy=cancelled, actor=agent, reason="Changed their mind")

    assert policy.current_version.kind == PolicyVersion.Kind.REINSTATEMENT
    assert sum(amounts(policy)) == PREMIUM
    assert policy.current_version.premium_change == returned


def test_charges_and_returns_never_change_the_premium_due_entries_already_posted(agent, customer, product, today):
    policy = issue(agent, customer, product, frequency="MONTHLY")
    posted = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PREMIUM_DUE).values_list("pk", "amount"))

    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=45), reason="Asked")

    assert list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PREMIUM_DUE).values_list("pk", "amount")) == posted
    instalments = Instalment.objects.filter(policy=policy)
    balance = sum(LedgerEntry.objects.values_list("amount", flat=True))
    assert balance == sum(i.amount for i in instalments)


def test_a_payment_received_before_a_policy_is_issued_pays_its_first_instalment(agent, customer, product, today):
    first = issue(agent, customer, product)
    pay(first, PREMIUM + Decimal("500000.00"), "WITH-EXTRA", agent)

    second = issue(agent, customer, product, frequency="MONTHLY")

    assert schedule_of(second)[0].amount_paid == Decimal("380800.00")
    assert schedule_of(second)[1].amount_paid == Decimal("119200.00")
