"""Renewals: a new policy linked to the one it renews, priced today; who may be renewed; the renewal queue."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.formats import date_format

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.core.dates import add_months
from portal.policies.models import Coverage, Policy, PolicyVersion, Quote, RatingRule
from portal.policies.selectors import renewal_queue
from portal.policies.services import (
    policies_follow_dates,
    policy_cancel,
    policy_endorse,
    policy_issue,
    policy_renew,
    policy_suspend,
    quote_accept,
    quote_create,
)

from .factories import CustomerFactory, ProductFactory, TeamFactory, UserFactory, issue_policy

# A one-month term of the factory product at 300M with RC + PT (SI band x0.9):
# RC 300,000 + PT 500,000 = 800,000 x 0.9 = 720,000; loading 144,000; IVA 164,160.
MONTHLY_300M = Decimal("1028160.00")
# The same with PT at 40 per mille: (300,000 + 1,000,000) x 0.9 = 1,170,000; loading 234,000; IVA 266,760.
MONTHLY_300M_WITH_PT_AT_40 = Decimal("1670760.00")


@pytest.fixture
def monthly(db):
    return ProductFactory(code="MES", name="Auto mensual", term_months=1)


@pytest.fixture
def issue(agent, customer, monthly, today):
    def issue_one(*, product=None, start_date=None, owner=None, holder=None):
        return issue_policy(
            actor=owner or agent,
            customer=holder or customer,
            product=product or monthly,
            start_date=start_date or today,
            sum_insured="300000000",
            coverage_codes=("PT",),
        )

    return issue_one


def counts():
    return Policy.objects.count(), Quote.objects.count(), PolicyVersion.objects.count(), AuditEvent.objects.count()


# --- policy_renew ---------------------------------------------------------------------------------------------------


def test_renewing_makes_a_new_policy_that_starts_when_the_old_one_ends_and_is_linked_to_it(issue, agent):
    old = issue()
    old_version = old.current_version

    new = policy_renew(policy=old, actor=agent)

    old.refresh_from_db()
    assert new.pk != old.pk
    assert new.renewal_of == old
    assert old.renewed_by == new
    assert new.number != old.number
    assert (new.customer, new.product) == (old.customer, old.product)
    version = new.current_version
    assert (version.number, version.kind) == (1, PolicyVersion.Kind.RENEWAL)
    assert version.start_date == version.effective_date == old_version.end_date
    assert version.end_date == add_months(old_version.end_date, 1)
    assert version.sum_insured == old_version.sum_insured
    assert [line["code"] for line in version.coverages] == ["RC", "PT"]
    assert version.premium == version.premium_change == MONTHLY_300M
    assert new.status == Policy.Status.PENDING
    assert (new.quote.renewal_of, new.quote.status) == (old, Quote.Status.ISSUED)
    issued = AuditEvent.objects.filter(action="policy.issued", target_id=str(new.pk)).get()
    assert issued.metadata["renews"] == old.number
    assert old.status == Policy.Status.ACTIVE
    assert PolicyVersion.objects.filter(policy=old).count() == 1


def test_a_renewal_is_priced_at_todays_rates(issue, agent, monthly):
    old = issue()
    Coverage.objects.filter(product=monthly, code="PT").update(rate_per_mille=Decimal("40"))

    new = policy_renew(policy=old, actor=agent)

    assert old.current_version.premium == MONTHLY_300M
    assert new.current_version.premium == MONTHLY_300M_WITH_PT_AT_40


def test_an_age_rated_renewal_is_priced_at_the_insureds_age_on_the_new_start(agent, today):
    life = ProductFactory(code="VIDA", line="LIFE", term_months=1, requires_age=True, min_age=18, max_age=75)
    RatingRule.objects.create(product=life, factor="AGE", low=18, high=30, multiplier=1, label="Up to 30")
    RatingRule.objects.create(product=life, factor="AGE", low=31, high=75, multiplier=2, label="31 and over")
    birthday = today + timedelta(days=15)
    if (birthday.month, birthday.day) == (2, 29):
        birthday += timedelta(days=1)
    turns_31_during_the_term = CustomerFactory(agent=agent, birth_date=birthday.replace(year=birthday.year - 31))
    old = issue_policy(
        actor=agent, customer=turns_31_during_the_term, product=life, start_date=today, sum_insured="300000000"
    )

    new = policy_renew(policy=old, actor=agent)

    assert (old.current_version.insured_age, new.current_version.insured_age) == (30, 31)
    assert old.current_version.premium == MONTHLY_300M
    # (300,000 + 500,000) x 0.9 x 2 = 1,440,000; loading 288,000; IVA 328,320.
    assert new.current_version.premium == Decimal("2056320.00")


def test_a_renewal_keeps_the_terms_of_the_latest_version(issue, agent, monthly, today):
    old = issue()
    policy_endorse(policy=old, actor=agent, effective_date=today, reason="Lower value", sum_insured="100000000")

    new = policy_renew(policy=Policy.objects.get(pk=old.pk), actor=agent)

    assert new.current_version.sum_insured == Decimal("100000000.00")


def test_a_policy_cannot_be_renewed_twice(issue, agent):
    old = issue()
    policy_renew(policy=old, actor=agent)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=old, actor=agent)

    assert refused.value.messages == [f"Policy {old.number} has already been renewed."]
    assert counts() == before


def test_a_second_renewal_quote_cannot_be_issued(issue, agent, customer, monthly):
    old = issue()
    policy_renew(policy=old, actor=agent)
    second = quote_create(
        actor=agent,
        customer=customer,
        product=monthly,
        start_date=old.current_version.end_date,
        sum_insured="300000000",
        coverage_codes=["PT"],
        renewal_of=old,
    )
    second = quote_accept(quote=second, actor=agent)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_issue(quote=second, actor=agent)

    assert refused.value.messages == [f"Policy {old.number} has already been renewed."]
    assert counts() == before
    second.refresh_from_db()
    assert second.status == Quote.Status.ACCEPTED


def test_a_cancelled_policy_is_not_renewed(issue, agent, today):
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Regrets")
    policy = Policy.objects.get(pk=policy.pk)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=policy, actor=agent)

    assert refused.value.messages == [
        f"Policy {policy.number} is cancelled from {date_format(today)}; reinstate it first."
    ]
    assert counts() == before


def test_a_suspended_policy_is_not_renewed(issue, agent):
    policy = issue()
    policy_suspend(policy=policy, actor=agent, reason="Unpaid")
    policy = Policy.objects.get(pk=policy.pk)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=policy, actor=agent)

    assert refused.value.messages == [f"Policy {policy.number} is suspended; only policies in force are renewed."]
    assert counts() == before


def test_a_policy_with_a_cancellation_scheduled_is_not_renewed_and_the_message_says_so(issue, agent, today):
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=10), reason="Selling")
    policy = Policy.objects.get(pk=policy.pk)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=policy, actor=agent)

    assert counts() == before
    assert "cancel" in refused.value.messages[0]


def test_a_policy_ending_more_than_90_days_ahead_is_not_renewed_yet(yearly, agent):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=yearly, actor=agent)

    assert "it can be renewed from 90 days before that" in refused.value.messages[0]
    assert counts() == before


@pytest.fixture
def yearly(issue):
    """A 12-month policy starting today, moved through its term with the services' `as_of` date."""
    return issue(product=ProductFactory(code="ANUAL"))


def test_a_policy_can_be_renewed_from_90_days_before_it_ends(yearly, agent):
    end = yearly.current_version.end_date

    renewal = policy_renew(policy=yearly, actor=agent, as_of=end - timedelta(days=90))

    assert renewal.current_version.start_date == end
    assert renewal.status == Policy.Status.PENDING


def test_a_policy_91_days_before_its_end_is_not_renewed_yet(yearly, agent):
    end = yearly.current_version.end_date
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=yearly, actor=agent, as_of=end - timedelta(days=91))

    assert refused.value.messages == [
        f"Policy {yearly.number} ends on {date_format(end)}; it can be renewed from 90 days before that."
    ]
    assert counts() == before


def test_a_policy_that_expired_up_to_30_days_ago_is_renewed_from_the_day_of_renewal(yearly, agent):
    end = yearly.current_version.end_date
    policies_follow_dates(today=end)
    late = end + timedelta(days=30)

    renewal = policy_renew(policy=Policy.objects.get(pk=yearly.pk), actor=agent, as_of=late)

    assert renewal.renewal_of == yearly
    assert renewal.current_version.start_date == late
    assert renewal.status == Policy.Status.ACTIVE


def test_a_policy_that_expired_more_than_30_days_ago_is_not_renewed(yearly, agent):
    end = yearly.current_version.end_date
    policies_follow_dates(today=end)
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=Policy.objects.get(pk=yearly.pk), actor=agent, as_of=end + timedelta(days=31))

    assert refused.value.messages == [
        f"Policy {yearly.number} ended more than 30 days ago; issue a new policy instead."
    ]
    assert counts() == before


def test_a_product_taken_off_sale_is_not_renewed(issue, agent, monthly):
    policy = issue()
    monthly.is_active = False
    monthly.save()
    before = counts()

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=policy, actor=agent)

    assert refused.value.messages == ["Auto mensual is no longer on sale; offer the customer another product."]
    assert counts() == before


# --- renewal_queue ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_before_end", "window", "listed"),
    [
        pytest.param(31, 30, False, id="31 days before the end, outside a 30-day window"),
        pytest.param(30, 30, True, id="exactly 30 days before the end"),
        pytest.param(10, 30, True, id="10 days before the end"),
        pytest.param(1, 30, True, id="the last day of cover"),
        pytest.param(0, 30, False, id="the day cover ended"),
        pytest.param(60, 60, True, id="a 60-day window"),
        pytest.param(61, 60, False, id="outside a 60-day window"),
    ],
)
def test_the_renewal_queue_lists_policies_ending_within_the_window(yearly, agent, days_before_end, window, listed):
    end = yearly.current_version.end_date

    queue = renewal_queue(agent, days=window, today=end - timedelta(days=days_before_end))

    assert (yearly in queue) is listed


def test_the_renewal_queue_leaves_out_renewed_cancelled_and_suspended_policies(issue, agent, customer, today):
    due = issue()
    renewed = issue()
    renewal = policy_renew(policy=renewed, actor=agent)
    cancelled = issue()
    policy_cancel(policy=cancelled, actor=agent, effective_date=today, reason="Regrets")
    scheduled = issue()
    policy_cancel(policy=scheduled, actor=agent, effective_date=today + timedelta(days=5), reason="Selling")
    suspended = issue()
    policy_suspend(policy=suspended, actor=agent, reason="Unpaid")

    queue = list(renewal_queue(agent, days=40, today=today))

    assert queue == [due]
    assert renewal not in renewal_queue(agent, days=40, today=today)


def test_the_renewal_queue_is_ordered_by_end_date(issue, agent, today):
    later = issue(start_date=today + timedelta(days=5))
    sooner = issue()

    assert list(renewal_queue(agent, days=60, today=today)) == [sooner, later]


@pytest.fixture
def books(issue, agent, supervisor):
    """One due policy in the agent's book and one in an agent's book on another team."""
    outsider = UserFactory(role=Role.AGENT, team=TeamFactory())
    mine = issue()
    theirs = issue(owner=outsider, holder=CustomerFactory(agent=outsider))
    return {"mine": mine, "theirs": theirs, "outsider": outsider}


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        pytest.param("agent", {"mine"}, id="the agent sees their own book"),
        pytest.param("supervisor", {"mine"}, id="the supervisor sees the team's book"),
        pytest.param("outsider", {"theirs"}, id="an agent of another team sees only theirs"),
        pytest.param("admin_user", {"mine", "theirs"}, id="admin sees every book"),
        pytest.param("finance_user", {"mine", "theirs"}, id="finance sees every book"),
        pytest.param("auditor", {"mine", "theirs"}, id="interventoria sees every book"),
        pytest.param("client_user", set(), id="a client sees nothing"),
    ],
)
def test_the_renewal_queue_is_scoped_to_the_users_book(request, books, today, viewer, sees):
    user = books["outsider"] if viewer == "outsider" else request.getfixturevalue(viewer)

    queue = set(renewal_queue(user, days=40, today=today))

    assert queue == {books[name] for name in sees}


@pytest.mark.postgres
def test_two_concurrent_renewals_of_the_same_policy_make_one_renewal(transactional_db, issue, agent):
    policy = issue()
    barrier = threading.Barrier(2)
    renewals, errors = [], []

    def renew():
        try:
            barrier.wait(timeout=30)
            renewals.append(policy_renew(policy=policy, actor=agent))
        except ValidationError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=renew) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(renewals) == 1
    assert [error.messages for error in errors] == [[f"Policy {policy.number} has already been renewed."]]
    assert Policy.objects.filter(renewal_of=policy).get() == renewals[0]
    assert Quote.objects.filter(renewal_of=policy).count() == 1


def test_without_a_birth_date_the_declared_age_grows_with_the_years_of_the_renewed_term(agent, today):
    life = ProductFactory(code="VIDA", line="LIFE", term_months=12, requires_age=True, min_age=18, max_age=70)
    customer = CustomerFactory(agent=agent, birth_date=None)
    started = today - timedelta(days=360)
    old = issue_policy(actor=agent, customer=customer, product=life, start_date=started, as_of=started, insured_age=40)

    new = policy_renew(policy=old, actor=agent)

    assert (old.current_version.insured_age, new.current_version.insured_age) == (40, 41)


def test_a_declared_age_past_the_products_maximum_stops_the_renewal_with_the_reason(agent, today):
    life = ProductFactory(code="VIDA", line="LIFE", term_months=12, requires_age=True, min_age=18, max_age=70)
    customer = CustomerFactory(agent=agent, birth_date=None)
    started = today - timedelta(days=360)
    old = issue_policy(actor=agent, customer=customer, product=life, start_date=started, as_of=started, insured_age=70)

    with pytest.raises(ValidationError) as refused:
        policy_renew(policy=old, actor=agent)

    assert "insures people aged 18 to 70" in " ".join(refused.value.messages)
    assert not Policy.objects.filter(renewal_of=old).exists()
