"""Races on PostgreSQL with real threads: one winner per claim, cover spent once, bulk jobs applied once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.bulk import bulk_transition_run, bulk_transition_start
from portal.claims.models import BulkTransitionResult, Claim, ClaimStatus, ClaimTransition, RejectionReason
from portal.claims.services import claim_approve, claim_reject, claim_start_review
from portal.core.exceptions import Conflict

from .factories import UserFactory, grant_approval_limit, issue_policy
from .helpers import claim_in, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reason():
    # A transactional test empties the tables afterwards, the reasons the migration adds included.
    return RejectionReason.objects.get_or_create(code="not-covered", defaults={"label": "Not covered"})[0]


def supervisors(count):
    return [grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000000000") for _ in range(count)]


def test_twenty_people_acting_on_one_claim_at_once_leave_exactly_one_winner_and_nineteen_conflicts(people, reason):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)
    seen = claim.revision
    moves = [
        *[(actor, "approve") for actor in supervisors(7)],
        *[(actor, "reject") for actor in supervisors(7)],
        *[(actor, "start_review") for actor in supervisors(6)],
    ]

    def act(move):
        actor, action = move
        if action == "approve":
            return claim_approve(claim=claim, actor=actor, amount="5000000", note="Yo", expected_revision=seen)
        if action == "reject":
            return claim_reject(claim=claim, actor=actor, reason=reason, note="Yo", expected_revision=seen)
        return claim_start_review(claim=claim, actor=actor, expected_revision=seen)

    transitions, events = ClaimTransition.objects.filter(claim=claim).count(), AuditEvent.objects.count()
    winners, errors = run_together(act, moves)

    assert len(winners) == 1
    assert len(errors) == 19
    assert all(isinstance(error, Conflict) for error in errors), errors
    stored = Claim.objects.get(pk=claim.pk)
    assert stored.status == winners[0].status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED)
    assert stored.revision == seen + 1
    assert ClaimTransition.objects.filter(claim=claim).count() == transitions + 1
    assert AuditEvent.objects.count() == events + 1
    # The losers who raced a decision were told to reload, not that the claim is in the wrong state.
    changed = f"Claim {claim.number} changed while you were looking at it; reload it."
    assert sum(error.messages == [changed] for error in errors) >= 13


def test_twenty_people_deciding_without_a_revision_still_leave_one_decision(people, reason):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)
    deciders = supervisors(20)

    def decide(index):
        if index % 2:
            return claim_approve(claim=claim, actor=deciders[index], amount="5000000", note="Yo")
        return claim_reject(claim=claim, actor=deciders[index], reason=reason, note="Yo")

    winners, errors = run_together(decide, list(range(20)))

    assert len(winners) == 1
    assert len(errors) == 19 and all(isinstance(error, Conflict) for error in errors)
    assert ClaimTransition.objects.filter(claim=claim, action__in=["approve", "reject"]).count() == 1


def test_approvals_of_different_claims_on_one_coverage_cannot_spend_more_than_its_limit_between_them(people):
    policy = issue_policy(actor=people.filer)
    # Ten claims of 30M on a 100M coverage: filing takes no cover, so all ten are filed and reviewed.
    claims = [claim_in(ClaimStatus.UNDER_REVIEW, people, policy=policy, amount=Decimal("30000000")) for _ in range(10)]
    deciders = supervisors(10)

    approved, errors = run_together(
        lambda index: claim_approve(claim=claims[index], actor=deciders[index], amount="30000000", note="Ok"),
        list(range(10)),
    )

    assert len(approved) == 3
    assert len(errors) == 7
    assert all(type(error) is ValidationError and "approved_amount" in error.message_dict for error in errors)
    assert Claim.objects.filter(policy=policy, status=ClaimStatus.APPROVED).count() == 3
    assert ClaimTransition.objects.filter(claim__policy=policy, action="approve").count() == 3


def test_two_approvals_whose_sum_exceeds_the_limit_let_only_one_through(people):
    policy = issue_policy(actor=people.filer)
    first, second = (
        claim_in(ClaimStatus.UNDER_REVIEW, people, policy=policy, amount=Decimal("60000000")) for _ in range(2)
    )
    deciders = supervisors(2)

    approved, errors = run_together(
        lambda pair: claim_approve(claim=pair[0], actor=pair[1], amount="60000000", note="Ok"),
        [(first, deciders[0]), (second, deciders[1])],
    )

    assert len(approved) == 1 and len(errors) == 1
    assert errors[0].message_dict == {
        "approved_amount": ["Only COP 40,000,000.00 of this coverage remains in the policy term."]
    }


def test_two_workers_running_the_same_bulk_job_at_once_apply_each_claim_once(people):
    admin = UserFactory(role=Role.ADMIN)
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(6)]
    job = bulk_transition_start(actor=admin, action="start_review", claim_ids=[claim.pk for claim in claims])

    _jobs, errors = run_together(lambda _: bulk_transition_run(job=job), [1, 2])

    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.processed, job.applied, job.refused) == ("FINISHED", 6, 6, 0)
    assert BulkTransitionResult.objects.filter(job=job).count() == 6
    assert ClaimTransition.objects.filter(action="start_review").count() == 6
    assert AuditEvent.objects.filter(action="claim.start_review").count() == 6
    assert set(Claim.objects.values_list("revision", flat=True)) == {2}
