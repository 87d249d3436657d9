"""Changes to a policy: endorsements and cancellations pro rata, reinstatement, suspension, and refusals.

Policies here start today, so their 12-month term is 365 or 366 days depending on whether it
spans a 29 February; the tables carry the hand-computed amount for both.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal.audit.models import AuditEvent
from portal.policies import prorata
from portal.policies.models import Policy, PolicyVersion
from portal.policies.selectors import version_in_force_on
from portal.policies.services import (
    cancellation_preview,
    policies_follow_dates,
    policy_cancel,
    policy_endorse,
    policy_reinstate,
    policy_suspend,
)

from .factories import issue_policy

# The factory product (RC 12 per mille mandatory, PT 20 per mille, loading 20 %, IVA 19 %) at 100M:
RC_ONLY = Decimal("1713600.00")
RC_PT = Decimal("4569600.00")
RC_PT_300M = Decimal("12337920.00")


@pytest.fixture
def issue(agent, customer, product, today):
    def issue(*, coverage_codes=("PT",), start_date=None):
        return issue_policy(
            actor=agent,
            customer=customer,
            product=product,
            start_date=start_date or today,
            coverage_codes=coverage_codes,
        )

    return issue


def term_days(policy):
    version = policy.current_version
    return (version.end_date - version.start_date).days


def day_of_term(policy, when):
    """'start', 'last day', or a number of days after the start."""
    start = policy.current_version.start_date
    if when == "start":
        return start
    if when == "last day":
        return policy.current_version.end_date - timedelta(days=1)
    return start + timedelta(days=when)


def reloaded(policy):
    return Policy.objects.select_related("current_version").get(pk=policy.pk)


def footprint(policy):
    """Everything a refused change must leave as it was."""
    stored = reloaded(policy)
    return (
        stored.status,
        stored.current_version_id,
        PolicyVersion.objects.filter(policy=policy).count(),
        AuditEvent.objects.count(),
    )


# --- endorsements: (new - old premium) x remaining days / term days ---------------------------------------------


ISSUED_RC, ISSUED_RC_PT = [], ["PT"]
ADD_PT, DROP_PT, RAISE_SUM = {"coverage_codes": ["PT"]}, {"coverage_codes": []}, {"sum_insured": "300000000"}

# expected premium change for a term of (365 days, 366 days)
ENDORSEMENTS = [
    pytest.param(ISSUED_RC, ADD_PT, RC_PT, "start", ("2856000.00", "2856000.00"), id="add PT at start"),
    pytest.param(ISSUED_RC, ADD_PT, RC_PT, 100, ("2073534.25", "2075672.13"), id="add PT on day 100"),
    pytest.param(ISSUED_RC, ADD_PT, RC_PT, "last day", ("7824.66", "7803.28"), id="add PT on the last day"),
    pytest.param(ISSUED_RC_PT, DROP_PT, RC_ONLY, "start", ("-2856000.00", "-2856000.00"), id="drop PT at start"),
    pytest.param(ISSUED_RC_PT, DROP_PT, RC_ONLY, 100, ("-2073534.25", "-2075672.13"), id="drop PT on day 100"),
    pytest.param(ISSUED_RC_PT, DROP_PT, RC_ONLY, "last day", ("-7824.66", "-7803.28"), id="drop PT on the last day"),
    pytest.param(ISSUED_RC_PT, RAISE_SUM, RC_PT_300M, 100, ("5640013.15", "5645828.20"), id="raise sum on day 100"),
    pytest.param(ISSUED_RC_PT, RAISE_SUM, RC_PT_300M, "last day", ("21283.07", "21224.92"), id="raise sum on last day"),
]


@pytest.mark.parametrize(("issued_with", "change", "new_premium", "when", "expected"), ENDORSEMENTS)
def test_an_endorsement_charges_or_returns_the_premium_difference_for_the_remaining_days(
    issue, agent, issued_with, change, new_premium, when, expected
):
    policy = issue(coverage_codes=issued_with)
    effective = day_of_term(policy, when)

    policy_endorse(policy=policy, actor=agent, effective_date=effective, reason="Change of cover", **change)

    version = reloaded(policy).current_version
    assert (version.number, version.kind, version.effective_date) == (2, PolicyVersion.Kind.ENDORSEMENT, effective)
    assert version.premium == new_premium
    assert version.premium_change == Decimal(expected[term_days(policy) - 365])
    assert version.created_by == agent
    assert version.reason == "Change of cover"


def test_an_endorsement_keeps_the_term_and_records_the_new_terms(issue, agent):
    policy = issue()
    first = policy.current_version

    policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=day_of_term(policy, 30),
        reason="New car",
        sum_insured="300000000",
    )

    version = reloaded(policy).current_version
    assert (version.start_date, version.end_date) == (first.start_date, first.end_date)
    assert version.sum_insured == Decimal("300000000.00")
    assert [(line["code"], line["limit"]) for line in version.coverages] == [
        ("RC", "300000000.00"),
        ("PT", "300000000.00"),
    ]
    assert Decimal(version.breakdown["total"]) == version.premium
    event = AuditEvent.objects.get(action="policy.endorsed")
    assert {key: Decimal(value) for key, value in event.metadata["sum_insured"].items()} == {
        "from": Decimal("100000000"),
        "to": Decimal("300000000"),
    }
    assert event.metadata["premium_change"] == str(version.premium_change)


ENDORSEMENT_CHANGES = [
    pytest.param("4569600.00", "1713600.00", 365, 365, "-2856000.00", id="whole term returned"),
    pytest.param("1713600.00", "4569600.00", 365, 1, "7824.66", id="one day of a 365-day term"),
    pytest.param("1000000.00", "1000000.01", 365, 182, "0.00", id="a cent over half a term"),
    pytest.param("1000000.00", "1000003.65", 365, 1, "0.01", id="exactly a cent"),
    pytest.param("1000000.00", "15392722.47", 366, 219, "8612038.86", id="exact half cent over 219 of 366 days"),
]


@pytest.mark.parametrize(("old", "new", "days", "remaining", "expected"), ENDORSEMENT_CHANGES)
def test_endorsement_change_is_the_exact_pro_rata_rounded_half_up(old, new, days, remaining, expected):
    start = date(2027, 3, 1) if days == 366 else date(2026, 3, 1)
    end = start + timedelta(days=days)

    change = prorata.endorsement_change(
        old_premium=Decimal(old),
        new_premium=Decimal(new),
        start_date=start,
        end_date=end,
        effective_date=end - timedelta(days=remaining),
    )

    assert change == Decimal(expected)


# --- cancellation: refund = what was charged - what was earned --------------------------------------------------


# refund for a term of (365 days, 366 days)
CANCELLATIONS = [
    pytest.param("start", ("4569600.00", "4569600.00"), id="flat cancellation at the start"),
    pytest.param(100, ("3317654.79", "3321075.41"), id="on day 100"),
    pytest.param("last day", ("12519.45", "12485.25"), id="on the last day"),
]


@pytest.mark.parametrize(("when", "expected"), CANCELLATIONS)
def test_a_cancellation_returns_the_unearned_premium(issue, agent, when, expected):
    policy = issue()
    effective = day_of_term(policy, when)
    refund = Decimal(expected[term_days(policy) - 365])

    preview = cancellation_preview(policy=policy, effective_date=effective)
    policy_cancel(policy=policy, actor=agent, effective_date=effective, reason="Sold the car")

    assert preview == refund
    version = reloaded(policy).current_version
    assert (version.number, version.kind, version.effective_date) == (2, PolicyVersion.Kind.CANCELLATION, effective)
    assert version.premium_change == -refund
    assert version.cover_end == effective
    event = AuditEvent.objects.get(action="policy.cancelled")
    assert event.metadata["refund"] == str(refund)


def test_the_refund_preview_writes_nothing(issue):
    policy = issue()
    before = footprint(policy)

    cancellation_preview(policy=policy, effective_date=day_of_term(policy, 100))

    assert footprint(policy) == before


def test_a_cancellation_after_an_endorsement_refunds_what_was_charged_minus_what_each_version_earned(issue, agent):
    # RC only for 100 days, RC + PT for the next 100, cancelled on day 200.
    # 365 days: charged 1,713,600 + 2,856,000 x 265/365 (2,073,534.25) = 3,787,134.25;
    # earned (1,713,600 + 4,569,600) x 100/365 = 1,721,424.66; refund 2,065,709.59.
    policy = issue(coverage_codes=[])
    policy_endorse(
        policy=policy, actor=agent, effective_date=day_of_term(policy, 100), reason="Adds PT", coverage_codes=["PT"]
    )
    expected = (Decimal("2065709.59"), Decimal("2072550.82"))[term_days(policy) - 365]

    policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 200), reason="Moving abroad")

    versions = list(PolicyVersion.objects.filter(policy=policy).order_by("number"))
    assert [v.kind for v in versions] == ["NEW_BUSINESS", "ENDORSEMENT", "CANCELLATION"]
    assert versions[2].premium_change == -expected


def test_a_flat_cancellation_on_the_start_day_cancels_at_once(issue, agent, today):
    policy = issue(start_date=today)

    policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Customer regrets it")

    assert reloaded(policy).status == Policy.Status.CANCELLED


def test_a_cancellation_in_the_future_keeps_the_policy_active_until_the_daily_run_reaches_the_date(issue, agent, today):
    policy = issue()
    effective = today + timedelta(days=100)

    policy_cancel(policy=policy, actor=agent, effective_date=effective, reason="Sold the car")

    assert reloaded(policy).status == Policy.Status.ACTIVE
    assert policies_follow_dates(today=effective - timedelta(days=1)) == {}
    assert reloaded(policy).status == Policy.Status.ACTIVE
    assert policies_follow_dates(today=effective) == {Policy.Status.CANCELLED: 1}
    assert reloaded(policy).status == Policy.Status.CANCELLED
    event = AuditEvent.objects.get(action="policy.status_changed")
    assert event.metadata == {"from": "ACTIVE", "to": "CANCELLED", "on": effective.isoformat()}
    assert policies_follow_dates(today=effective + timedelta(days=1)) == {}


def test_a_pending_policy_cancelled_flat_goes_from_pending_to_cancelled_not_active(issue, agent, today):
    start = today + timedelta(days=20)
    policy = issue(start_date=start)

    policy_cancel(policy=policy, actor=agent, effective_date=start, reason="Bought elsewhere")

    assert reloaded(policy).status == Policy.Status.PENDING
    assert policies_follow_dates(today=start) == {Policy.Status.CANCELLED: 1}
    assert reloaded(policy).status == Policy.Status.CANCELLED


def test_a_suspended_policy_can_be_cancelled(issue, agent, today):
    policy = issue()
    policy_suspend(policy=policy, actor=agent, reason="Unpaid premium")

    policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Still unpaid")

    assert reloaded(policy).status == Policy.Status.CANCELLED


# --- reinstatement -------------------------------------------------------------------------------------------------


def test_reinstating_a_cancelled_policy_charges_back_the_refund_and_restores_its_terms(issue, agent):
    policy = issue(coverage_codes=[])
    policy_endorse(
        policy=policy, actor=agent, effective_date=day_of_term(policy, 10), reason="Adds PT", coverage_codes=["PT"]
    )
    endorsed = reloaded(policy).current_version
    cancelled_on = day_of_term(policy, 50)
    policy_cancel(policy=policy, actor=agent, effective_date=cancelled_on, reason="Unpaid")
    policies_follow_dates(today=cancelled_on)
    cancellation = reloaded(policy).current_version
    assert reloaded(policy).status == Policy.Status.CANCELLED

    policy_reinstate(policy=policy, actor=agent, reason="Paid in full", as_of=cancelled_on)

    policy = reloaded(policy)
    version = policy.current_version
    assert policy.status == Policy.Status.ACTIVE
    assert (version.number, version.kind) == (4, PolicyVersion.Kind.REINSTATEMENT)
    assert version.effective_date == cancelled_on
    assert version.premium_change == -cancellation.premium_change > 0
    assert (version.sum_insured, version.coverages, version.premium, version.breakdown) == (
        endorsed.sum_insured,
        endorsed.coverages,
        endorsed.premium,
        endorsed.breakdown,
    )
    charged = sum(v.premium_change for v in PolicyVersion.objects.filter(policy=policy))
    assert charged == RC_ONLY + endorsed.premium_change
    event = AuditEvent.objects.get(action="policy.reinstated")
    assert event.metadata["from"] == "CANCELLED"
    assert event.metadata["premium_change"] == str(version.premium_change)


def test_reinstating_a_scheduled_cancellation_withdraws_it(issue, agent):
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 100), reason="Sold the car")

    policy_reinstate(policy=policy, actor=agent, reason="Kept the car")

    assert reloaded(policy).status == Policy.Status.ACTIVE
    assert policies_follow_dates(today=day_of_term(policy, 100)) == {}
    assert reloaded(policy).status == Policy.Status.ACTIVE
    assert cancellation_preview(policy=policy, effective_date=day_of_term(policy, "start")) == RC_PT


def test_suspension_and_reinstatement_change_the_status_but_write_no_version(issue, agent):
    policy = issue()

    policy_suspend(policy=policy, actor=agent, reason="Unpaid premium")
    assert reloaded(policy).status == Policy.Status.SUSPENDED
    assert policies_follow_dates(today=day_of_term(policy, 30)) == {}
    assert reloaded(policy).status == Policy.Status.SUSPENDED

    policy_reinstate(policy=policy, actor=agent, reason="Paid")

    policy = reloaded(policy)
    assert policy.status == Policy.Status.ACTIVE
    assert PolicyVersion.objects.filter(policy=policy).count() == 1
    actions = list(AuditEvent.objects.filter(target_type="policies.policy").values_list("action", flat=True))
    assert sorted(actions) == ["policy.issued", "policy.reinstated", "policy.suspended"]
    assert AuditEvent.objects.get(action="policy.suspended").metadata == {"reason": "Unpaid premium"}


def test_a_suspended_policy_expires_at_the_end_of_its_term(issue, agent):
    policy = issue()
    policy_suspend(policy=policy, actor=agent, reason="Unpaid premium")

    assert policies_follow_dates(today=policy.current_version.end_date) == {Policy.Status.EXPIRED: 1}


# --- refusals: a clear message and nothing written -------------------------------------------------------------


@pytest.fixture
def policy_in(issue, agent, today):
    def make(state):
        policy = issue()
        if state == "endorsed on day 100":
            policy_endorse(
                policy=policy,
                actor=agent,
                effective_date=day_of_term(policy, 100),
                reason="More",
                sum_insured="150000000",
            )
        elif state == "cancellation scheduled":
            policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 100), reason="Sold")
        elif state == "cancelled":
            policy_cancel(policy=policy, actor=agent, effective_date=today, reason="Regrets")
        elif state == "suspended":
            policy_suspend(policy=policy, actor=agent, reason="Unpaid")
        elif state == "expired":
            policies_follow_dates(today=policy.current_version.end_date)
        return reloaded(policy)

    return make


def before_start(policy):
    return policy.current_version.start_date - timedelta(days=1)


def on_end_date(policy):
    return policy.current_version.end_date


def after_end(policy):
    return policy.current_version.end_date + timedelta(days=3)


def on_day_50(policy):
    return day_of_term(policy, 50)


def on_day_120(policy):
    return day_of_term(policy, 120)


def arguments(policy, given, defaults):
    values = {**defaults, **given}
    return {key: value(policy) if callable(value) else value for key, value in values.items()}


MORE = {"sum_insured": "150000000"}

ENDORSE_REFUSALS = [
    pytest.param("active", {"sum_insured": "100000000", "coverage_codes": ["PT"]}, None, "Nothing changes", id="same"),
    pytest.param("active", {}, None, "Nothing changes", id="nothing given"),
    pytest.param("active", {**MORE, "effective_date": before_start}, "effective_date", "", id="before the start"),
    pytest.param("active", {**MORE, "effective_date": on_end_date}, "effective_date", "", id="on the end date"),
    pytest.param("active", {**MORE, "effective_date": after_end}, "effective_date", "", id="after the end"),
    pytest.param("active", {**MORE, "effective_date": None}, "effective_date", "", id="no date"),
    pytest.param(
        "endorsed on day 100", {**MORE, "effective_date": on_day_50}, "effective_date", "", id="before the last change"
    ),
    pytest.param("active", {**MORE, "reason": "  "}, "reason", "", id="blank reason"),
    pytest.param("active", {"sum_insured": "-150000000"}, "sum_insured", "", id="negative sum insured"),
    pytest.param("active", {"sum_insured": "0"}, "sum_insured", "", id="zero sum insured"),
    pytest.param("active", {"sum_insured": "NaN"}, "sum_insured", "", id="NaN sum insured"),
    pytest.param("active", {"sum_insured": "ciento cincuenta"}, "sum_insured", "", id="non-numeric sum insured"),
    pytest.param("active", {"sum_insured": "900000000"}, "sum_insured", "", id="over the product maximum"),
    pytest.param("active", {"coverage_codes": ["PT", "GRUA"]}, "coverage_codes", "GRUA", id="unknown coverage"),
    pytest.param(
        "cancellation scheduled",
        {**MORE, "effective_date": on_day_50},
        None,
        "is cancelled from",
        id="cancel scheduled",
    ),
    pytest.param("cancelled", MORE, None, "is «Cancelled», so it cannot be endorsed", id="cancelled policy"),
    pytest.param("expired", MORE, None, "is «Expired», so it cannot be endorsed", id="expired policy"),
    pytest.param("suspended", MORE, None, "is «Suspended», so it cannot be endorsed", id="suspended policy"),
]

CANCEL_REFUSALS = [
    pytest.param("active", {"reason": ""}, "reason", "", id="blank reason"),
    pytest.param("active", {"reason": None}, "reason", "", id="no reason"),
    pytest.param("active", {"effective_date": on_end_date}, "effective_date", "", id="on the end date"),
    pytest.param("active", {"effective_date": before_start}, "effective_date", "", id="before the start"),
    pytest.param("endorsed on day 100", {"effective_date": on_day_50}, "effective_date", "", id="before last change"),
    pytest.param("cancellation scheduled", {"effective_date": on_day_50}, None, "is cancelled from", id="twice"),
    pytest.param("cancelled", {}, None, "is «Cancelled», so it cannot be cancelled", id="cancelled policy"),
    pytest.param("expired", {}, None, "is «Expired», so it cannot be cancelled", id="expired policy"),
]

STATUS_REFUSALS = [
    pytest.param(
        "active", policy_reinstate, "Back", "is «Active», so there is nothing to reinstate", id="reinstate active"
    ),
    pytest.param(
        "expired", policy_reinstate, "Back", "is «Expired», so there is nothing to reinstate", id="reinstate expired"
    ),
    pytest.param("suspended", policy_suspend, "Again", "is «Suspended», so it cannot be suspended", id="suspend twice"),
    pytest.param(
        "cancelled", policy_suspend, "Unpaid", "is «Cancelled», so it cannot be suspended", id="suspend cancelled"
    ),
    pytest.param("expired", policy_suspend, "Unpaid", "is «Expired», so it cannot be suspended", id="suspend expired"),
    pytest.param("active", policy_suspend, " ", "Say why", id="suspend with a blank reason"),
    pytest.param("suspended", policy_reinstate, "", "Say why", id="reinstate with a blank reason"),
]


def assert_refused_with(refused, field, message):
    if field is None:
        assert message in refused.value.messages[0]
    else:
        assert field in refused.value.message_dict
        assert message in refused.value.message_dict[field][0]
        assert refused.value.message_dict[field][0].strip()


@pytest.mark.parametrize(("state", "given", "field", "message"), ENDORSE_REFUSALS)
def test_a_refused_endorsement_says_why_and_writes_nothing(policy_in, agent, state, given, field, message):
    policy = policy_in(state)
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        policy_endorse(
            policy=policy, actor=agent, **arguments(policy, given, {"effective_date": on_day_120, "reason": "Change"})
        )

    assert_refused_with(refused, field, message)
    assert footprint(policy) == before


@pytest.mark.parametrize(("state", "given", "field", "message"), CANCEL_REFUSALS)
def test_a_refused_cancellation_says_why_and_writes_nothing(policy_in, agent, state, given, field, message):
    policy = policy_in(state)
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        policy_cancel(
            policy=policy, actor=agent, **arguments(policy, given, {"effective_date": on_day_120, "reason": "Sold"})
        )

    assert_refused_with(refused, field, message)
    assert footprint(policy) == before


@pytest.mark.parametrize(("state", "change", "reason", "message"), STATUS_REFUSALS)
def test_a_refused_suspension_or_reinstatement_says_why_and_writes_nothing(
    policy_in, agent, state, change, reason, message
):
    policy = policy_in(state)
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        change(policy=policy, actor=agent, reason=reason)

    assert message in refused.value.messages[0]
    assert footprint(policy) == before


def test_a_pending_policy_cannot_be_suspended(issue, agent, today):
    policy = issue(start_date=today + timedelta(days=5))
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        policy_suspend(policy=policy, actor=agent, reason="Unpaid")

    assert "is «Pending start», so it cannot be suspended" in refused.value.messages[0]
    assert footprint(policy) == before


def test_scheduling_the_cancellation_of_a_suspended_policy_keeps_it_suspended(issue, agent):
    policy = issue()
    policy_suspend(policy=policy, actor=agent, reason="Unpaid premium")

    policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 100), reason="Still unpaid")

    assert reloaded(policy).status == Policy.Status.SUSPENDED
    assert policies_follow_dates(today=day_of_term(policy, 100)) == {Policy.Status.CANCELLED: 1}


def test_a_second_cancellation_after_a_reinstatement_refunds_as_if_the_first_never_happened(issue, agent):
    # Cancelled on day 100, reinstated, cancelled again on day 200: earned 4,569,600 x 200/365 = 2,503,890.41,
    # refund 2,065,709.59 (366 days: 2,072,550.82).
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 100), reason="Selling")
    policy_reinstate(policy=policy, actor=agent, reason="Kept it")
    expected = (Decimal("2065709.59"), Decimal("2072550.82"))[term_days(policy) - 365]

    policy_cancel(policy=policy, actor=agent, effective_date=day_of_term(policy, 200), reason="Sold it")

    version = reloaded(policy).current_version
    assert (version.number, version.kind) == (4, PolicyVersion.Kind.CANCELLATION)
    assert version.premium_change == -expected


def test_declaring_an_age_on_a_product_not_rated_by_age_is_not_a_change(issue, agent):
    policy = issue()
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        policy_endorse(policy=policy, actor=agent, effective_date=day_of_term(policy, 10), reason="Age", insured_age=40)

    assert "Nothing changes" in refused.value.messages[0]
    assert footprint(policy) == before


# --- withdrawn cancellations and products changed after issue -------------------------------------------


def test_withdrawing_a_scheduled_cancellation_leaves_the_policy_open_to_changes_from_today(issue, agent, today):
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=200), reason="Selling the car")
    policy_reinstate(policy=policy, actor=agent, reason="The customer kept the car")
    withdrawn = reloaded(policy).current_version
    assert (withdrawn.kind, withdrawn.effective_date) == (PolicyVersion.Kind.REINSTATEMENT, today)

    policy_endorse(policy=policy, actor=agent, effective_date=today, reason="Higher value", sum_insured="150000000")
    cancel_on = today + timedelta(days=100)
    refund = cancellation_preview(policy=reloaded(policy), effective_date=cancel_on)

    versions = list(PolicyVersion.objects.filter(policy=policy).order_by("number"))
    charged = prorata.charged_premium(versions)
    assert refund == charged - prorata.earned_premium(versions, until=cancel_on)
    # The withdrawn cancellation earned nothing and took nothing: what is earned up to the
    # cancellation is the endorsed premium from today on.
    endorsed = versions[-1]
    assert prorata.earned_premium(versions, until=cancel_on) == (endorsed.premium * 100 / term_days(policy)).quantize(
        Decimal("0.01")
    )


def test_the_version_in_force_is_the_last_recorded_one_already_in_effect(issue, agent, today):
    policy = issue()
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=30), reason="Selling the car")
    policy_reinstate(policy=policy, actor=agent, reason="Kept it")

    in_force = version_in_force_on(reloaded(policy), today + timedelta(days=60))

    assert in_force is not None
    assert in_force.kind == PolicyVersion.Kind.REINSTATEMENT


def test_an_endorsement_prices_the_policys_own_term_after_the_product_term_changes(issue, agent, product, today):
    policy = issue()
    product.term_months = 6
    product.save(update_fields=["term_months"])

    policy_endorse(
        policy=policy, actor=agent, effective_date=today, reason="Value up by one peso", sum_insured="100000001"
    )

    version = reloaded(policy).current_version
    first = PolicyVersion.objects.get(policy=policy, number=1)
    assert version.premium > first.premium
    assert version.premium_change >= 0


def test_an_endorsement_is_refused_when_the_product_now_sells_in_another_currency(issue, agent, product, today):
    policy = issue()
    product.currency = "USD"
    product.save(update_fields=["currency"])
    before = footprint(policy)

    with pytest.raises(ValidationError) as refused:
        policy_endorse(policy=policy, actor=agent, effective_date=today, reason="Change", sum_insured="150000000")

    assert "is now sold in USD but this policy is in COP" in refused.value.messages[0]
    assert footprint(policy) == before


def test_withdrawing_the_scheduled_cancellation_of_a_suspended_policy_keeps_it_suspended(issue, agent, today):
    policy = issue()
    policy_suspend(policy=policy, actor=agent, reason="Unpaid premium")
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=40), reason="Unpaid")

    policy_reinstate(policy=policy, actor=agent, reason="Cancellation withdrawn")

    policy = reloaded(policy)
    assert policy.status == Policy.Status.SUSPENDED
    assert policy.current_version.kind == PolicyVersion.Kind.REINSTATEMENT
    policy_reinstate(policy=policy, actor=agent, reason="Paid")
    assert reloaded(policy).status == Policy.Status.ACTIVE
