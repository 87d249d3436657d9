"""First notice of loss: the version in force at the loss date, the cover rules, and the claim number."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import Claim, ClaimTransition, RejectionReason
from portal.claims.services import (
    claim_approve,
    claim_close,
    claim_file,
    claim_mark_paid,
    claim_reject,
    claim_start_review,
)
from portal.core.models import NumberSequence
from portal.policies.services import policy_cancel, policy_endorse, policy_suspend

from .factories import CustomerFactory, UserFactory, issue_policy
from .helpers import Payout, run_together

# The factory product at a sum insured of 100M: both coverages have a limit of 100M.
LIMIT = Decimal("100000000.00")


@pytest.fixture
def issue(agent, customer, product, today):
    def issue(*, start_date=None, coverage_codes=("PT",), sum_insured="100000000"):
        start_date = start_date or today
        return issue_policy(
            actor=agent,
            customer=customer,
            product=product,
            start_date=start_date,
            coverage_codes=coverage_codes,
            sum_insured=sum_insured,
            as_of=min(start_date, today),
        )

    return issue


@pytest.fixture
def decider(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def finance(db):
    return UserFactory(role=Role.FINANCE)


def file(policy, actor, *, loss_date=None, amount="5000000", coverage_code="RC", description="Choque", as_of=None):
    return claim_file(
        policy=policy,
        coverage_code=coverage_code,
        loss_date=loss_date or timezone.localdate(),
        claimed_amount=amount,
        description=description,
        actor=actor,
        as_of=as_of,
    )


def refusal_of(policy, actor, **filing):
    """File and expect a refusal; return the message per field, having checked nothing was written."""
    claims, transitions, events = Claim.objects.count(), ClaimTransition.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        file(policy, actor, **filing)
    assert (Claim.objects.count(), ClaimTransition.objects.count(), AuditEvent.objects.count()) == (
        claims,
        transitions,
        events,
    )
    return refused.value.message_dict


def approved(claim, *, amount, reviewer, decider):
    claim = claim_start_review(claim=claim, actor=reviewer)
    return claim_approve(claim=claim, actor=decider, amount=amount, note="Peritaje conforme")


# --- the version in force ----------------------------------------------------------------------------------


def test_a_claim_is_filed_pending_against_the_version_in_force_with_one_transition_and_one_audit_event(
    issue, agent, today
):
    policy = issue()

    claim = file(policy, agent, amount="7250000.50", description="  Choque en la Autopista Norte  ")

    assert claim.status == Claim.Status.PENDING
    assert claim.revision == 1
    assert claim.policy_version == policy.current_version
    assert claim.customer == policy.customer
    assert (claim.coverage_code, claim.coverage_name) == ("RC", "Responsabilidad civil")
    assert (claim.claimed_amount, claim.currency) == (Decimal("7250000.50"), "COP")
    assert claim.description == "Choque en la Autopista Norte"
    assert claim.filed_by == agent
    assert claim.approved_amount is None and claim.decided_by is None and claim.reviewed_by is None
    transition = ClaimTransition.objects.get(claim=claim)
    assert (transition.action, transition.from_status, transition.to_status) == ("file", "", "PENDING")
    assert (transition.actor, transition.amount) == (agent, Decimal("7250000.50"))
    event = AuditEvent.objects.get(action="claim.filed")
    assert event.target_id == str(claim.pk)
    assert event.metadata == {"policy": policy.number, "coverage": "RC", "amount": "7250000.50", "currency": "COP"}


def test_a_loss_before_an_endorsement_is_claimed_against_the_old_version_and_one_after_it_against_the_new(
    issue, agent, today
):
    policy = issue(start_date=today - timedelta(days=200), coverage_codes=())
    first = policy.current_version
    policy = policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=today - timedelta(days=100),
        reason="Adds total loss",
        coverage_codes=["PT"],
    )
    second = policy.current_version

    before = file(policy, agent, loss_date=today - timedelta(days=150))
    after = file(policy, agent, loss_date=today - timedelta(days=100), coverage_code="PT")

    assert (before.policy_version, first.number) == (first, 1)
    assert (after.policy_version, second.number) == (second, 2)
    assert after.coverage_name == "Pérdida total"


def test_a_coverage_added_by_a_later_endorsement_cannot_be_claimed_for_a_loss_before_it(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=200), coverage_codes=())
    policy = policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=today - timedelta(days=100),
        reason="Adds total loss",
        coverage_codes=["PT"],
    )

    errors = refusal_of(policy, agent, loss_date=today - timedelta(days=101), coverage_code="PT")

    assert errors == {"coverage_code": ["That coverage is not part of the policy on the date of loss."]}


# --- not in force then -------------------------------------------------------------------------------------


def test_a_loss_before_the_policy_started_is_refused_with_the_date(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=10))

    errors = refusal_of(policy, agent, loss_date=today - timedelta(days=11))

    assert list(errors) == ["loss_date"]
    assert errors["loss_date"][0].startswith(f"Policy {policy.number} gave no cover on ")


def test_a_policy_starting_later_covers_no_loss_of_today(issue, agent, today):
    policy = issue(start_date=today + timedelta(days=5))

    assert list(refusal_of(policy, agent, loss_date=today)) == ["loss_date"]


def test_a_loss_on_or_after_the_cancellation_date_is_refused_and_one_before_it_is_covered(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=200))
    cancelled_on = today - timedelta(days=50)
    policy = policy_cancel(policy=policy, actor=agent, effective_date=cancelled_on, reason="Vendió el carro")

    assert list(refusal_of(policy, agent, loss_date=cancelled_on)) == ["loss_date"]
    assert list(refusal_of(policy, agent, loss_date=today)) == ["loss_date"]
    claim = file(policy, agent, loss_date=cancelled_on - timedelta(days=1))
    assert claim.policy_version.number == 1


def test_a_loss_after_the_policy_expired_is_refused_but_a_loss_during_its_term_is_still_covered(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=400))
    end = policy.current_version.end_date
    assert end < today

    assert list(refusal_of(policy, agent, loss_date=end)) == ["loss_date"]
    assert file(policy, agent, loss_date=end - timedelta(days=1)).policy_version == policy.current_version


def test_a_suspended_policy_covers_no_loss_from_the_day_it_was_suspended_but_covers_those_before(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=30))
    policy = policy_suspend(policy=policy, actor=agent, reason="Prima sin pagar")

    assert list(refusal_of(policy, agent, loss_date=today)) == ["loss_date"]
    assert file(policy, agent, loss_date=today - timedelta(days=1)).status == Claim.Status.PENDING


def test_a_loss_date_in_the_future_is_refused(issue, agent, today):
    policy = issue()

    errors = refusal_of(policy, agent, loss_date=today + timedelta(days=1))

    assert errors == {"loss_date": ["The date of loss cannot be in the future."]}


def test_a_missing_loss_date_is_refused_with_a_message_not_an_error(issue, agent):
    policy = issue()
    claims = Claim.objects.count()

    with pytest.raises(ValidationError) as refused:
        claim_file(
            policy=policy, coverage_code="RC", loss_date=None, claimed_amount="100", description="x", actor=agent
        )

    assert refused.value.message_dict == {"loss_date": ["Enter the date of loss."]}
    assert Claim.objects.count() == claims


def test_an_unknown_coverage_is_refused(issue, agent):
    policy = issue()

    assert refusal_of(policy, agent, coverage_code="XX") == {
        "coverage_code": ["That coverage is not part of the policy on the date of loss."]
    }


def test_a_coverage_the_policy_does_not_carry_is_refused(issue, agent):
    policy = issue(coverage_codes=())

    assert list(refusal_of(policy, agent, coverage_code="PT")) == ["coverage_code"]


def test_a_claim_without_a_description_is_refused(issue, agent):
    policy = issue()

    assert refusal_of(policy, agent, description="   ") == {"description": ["Say what happened."]}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        pytest.param("0", "The amount must be more than zero.", id="zero"),
        pytest.param("0.001", "The amount must be more than zero.", id="less than a cent"),
        pytest.param("-5000", "The amount must be more than zero.", id="negative"),
        pytest.param("-0", "The amount must be more than zero.", id="minus zero"),
        pytest.param("", "Enter an amount.", id="empty"),
        pytest.param(None, "Enter an amount.", id="none"),
        pytest.param("cinco millones", "Enter an amount.", id="words"),
        pytest.param("5.000.000", "Enter an amount.", id="thousands dots"),
        pytest.param("NaN", "Enter an amount.", id="not a number"),
        pytest.param("Infinity", "Enter an amount.", id="infinity"),
        pytest.param("1e40", "Enter an amount.", id="too many digits"),
        pytest.param([], "Enter an amount.", id="a list"),
    ],
)
def test_a_zero_negative_or_garbage_amount_is_refused_with_a_message(issue, agent, amount, message):
    policy = issue()

    assert refusal_of(policy, agent, amount=amount) == {"claimed_amount": [message]}


def test_an_amount_is_rounded_half_up_to_the_cent(issue, agent):
    policy = issue()

    assert file(policy, agent, amount="1000.005").claimed_amount == Decimal("1000.01")
    assert file(policy, agent, amount=Decimal("1000.004")).claimed_amount == Decimal("1000.00")
    assert file(policy, agent, amount=2500).claimed_amount == Decimal("2500.00")


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
def test_only_agents_supervisors_and_admins_file_claims(issue, role):
    policy = issue()

    with pytest.raises(PermissionDenied):
        file(policy, UserFactory(role=role))

    assert not Claim.objects.exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_agents_supervisors_and_admins_file_claims(issue, role):
    actor = UserFactory(role=role)

    assert file(issue(), actor).filed_by == actor


def test_a_customer_files_on_their_own_policy_from_the_app(issue, customer):
    customer.user = UserFactory(role=Role.CLIENT)
    customer.save(update_fields=["user"])

    claim = file(issue(), customer.user)

    assert (claim.filed_by, claim.customer) == (customer.user, customer)


def test_a_customer_may_not_file_on_another_customers_policy(issue):
    stranger = UserFactory(role=Role.CLIENT)
    CustomerFactory(user=stranger)

    with pytest.raises(PermissionDenied):
        file(issue(), stranger)

    assert not Claim.objects.exists()


# --- remaining cover ---------------------------------------------------------------------------------------


def test_the_whole_limit_may_be_claimed_but_not_a_cent_more(issue, agent):
    policy = issue()

    assert file(policy, agent, amount=LIMIT).claimed_amount == LIMIT
    assert refusal_of(policy, agent, amount=LIMIT + Decimal("0.01")) == {
        "claimed_amount": ["Only COP 100,000,000.00 of this coverage remains in the policy term."]
    }


def test_remaining_cover_is_the_limit_minus_approved_paid_and_closed_after_paid_claims_on_that_coverage(
    issue, agent, supervisor, decider, finance, today
):
    policy = issue(start_date=today - timedelta(days=30))
    reviewer = UserFactory(role=Role.AGENT)
    reason = RejectionReason.objects.get(code="not-covered")
    approved_only = approved(
        file(policy, agent, amount="20000000"), amount="15000000", reviewer=reviewer, decider=decider
    )
    paid = claim_mark_paid(
        claim=approved(file(policy, agent, amount="10000000"), amount="10000000", reviewer=reviewer, decider=decider),
        actor=finance,
        payout=Payout(reference="PAY-1"),
    )
    closed_after_paid = claim_close(
        claim=claim_mark_paid(
            claim=approved(file(policy, agent, amount="5000000"), amount="5000000", reviewer=reviewer, decider=decider),
            actor=finance,
            payout=Payout(reference="PAY-2"),
        ),
        actor=decider,
    )
    # None of these count: still pending, under review, rejected, closed after a rejection, another coverage.
    file(policy, agent, amount="70000000")
    claim_start_review(claim=file(policy, agent, amount="70000000"), actor=reviewer)
    rejected = claim_reject(
        claim=claim_start_review(claim=file(policy, agent, amount="60000000"), actor=reviewer),
        actor=decider,
        reason=reason,
        note="No cubierto",
    )
    claim_close(
        claim=claim_reject(
            claim=claim_start_review(claim=file(policy, agent, amount="60000000"), actor=reviewer),
            actor=decider,
            reason=reason,
            note="No cubierto",
        ),
        actor=decider,
    )
    approved(
        file(policy, agent, amount="80000000", coverage_code="PT"),
        amount="80000000",
        reviewer=reviewer,
        decider=decider,
    )
    assert {approved_only.status, paid.status, closed_after_paid.status, rejected.status} == {
        "APPROVED",
        "PAID",
        "CLOSED",
        "REJECTED",
    }

    # 100M - 15M - 10M - 5M
    assert file(policy, agent, amount="70000000").claimed_amount == Decimal("70000000.00")
    assert refusal_of(policy, agent, amount="70000000.01") == {
        "claimed_amount": ["Only COP 70,000,000.00 of this coverage remains in the policy term."]
    }
    assert file(policy, agent, amount="20000000", coverage_code="PT").claimed_amount == Decimal("20000000.00")
    assert list(refusal_of(policy, agent, amount="20000000.01", coverage_code="PT")) == ["claimed_amount"]


def test_remaining_cover_follows_the_limit_of_the_version_in_force_at_the_loss(issue, agent, today):
    policy = issue(start_date=today - timedelta(days=200))
    policy = policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=today - timedelta(days=100),
        reason="Raises the sum insured",
        sum_insured="300000000",
    )

    assert list(refusal_of(policy, agent, loss_date=today - timedelta(days=150), amount="100000000.01")) == [
        "claimed_amount"
    ]
    assert file(policy, agent, loss_date=today - timedelta(days=50), amount="300000000").claimed_amount == Decimal(
        "300000000.00"
    )


# --- claim numbers -----------------------------------------------------------------------------------------


def test_claim_numbers_read_sin_year_and_six_digits_and_count_up_per_year(issue, agent, today):
    policy = issue()

    numbers = [file(policy, agent).number for _ in range(3)]
    next_year = today.replace(year=today.year + 1, month=1, day=1)
    new_year = file(policy, agent, as_of=next_year)

    assert numbers == [f"SIN-{today.year}-{value:06d}" for value in (1, 2, 3)]
    assert new_year.number == f"SIN-{next_year.year}-000001"


def test_a_refused_filing_uses_no_claim_number(issue, agent, today):
    policy = issue()
    file(policy, agent)

    refusal_of(policy, agent, amount=LIMIT * 2)
    refusal_of(policy, agent, loss_date=today + timedelta(days=1))

    assert file(policy, agent).number == f"SIN-{today.year}-000002"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_filings_get_twenty_distinct_gap_free_numbers_while_refused_ones_take_none(
    agent, customer, product, today
):
    policies = [issue_policy(actor=agent, customer=customer, product=product) for _ in range(4)]
    # Twenty acceptable filings spread over four policies, and five refused for the amount, all at once.
    filings = [(policies[index % 4], "1000000") for index in range(20)] + [(policies[0], "100000000.01")] * 5

    claims, errors = run_together(lambda filing: file(filing[0], agent, amount=filing[1]), filings)

    assert len(errors) == 5
    assert all(isinstance(error, ValidationError) for error in errors)
    numbers = sorted(claim.number for claim in claims)
    assert numbers == [f"SIN-{today.year}-{value:06d}" for value in range(1, 21)]
    assert sorted(Claim.objects.values_list("number", flat=True)) == numbers
    assert ClaimTransition.objects.count() == 20
    assert AuditEvent.objects.filter(action="claim.filed").count() == 20
    assert NumberSequence.objects.get(key="claim", year=today.year).last_value == 20
