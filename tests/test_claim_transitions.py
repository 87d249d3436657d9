"""The claim state machine: every move, for every role, from every status: applied whole or refused without a trace."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import workflow
from portal.claims.models import Claim, ClaimStatus, ClaimTransition, RejectionReason
from portal.claims.selectors import claim_timeline
from portal.claims.services import (
    claim_approve,
    claim_close,
    claim_file,
    claim_mark_paid,
    claim_reject,
    claim_reopen,
    claim_start_review,
    claim_transition,
)
from portal.core.exceptions import Conflict

from .factories import UserFactory, grant_approval_limit, issue_policy
from .helpers import CLAIMED, Payout, claim_in, footprint


def actor_of(role):
    actor = UserFactory(role=role)
    if role == Role.SUPERVISOR:
        grant_approval_limit(actor, "1000000000")
    return actor


def inputs_for(action, reason):
    return {
        "start_review": {},
        "approve": {"amount": CLAIMED, "note": "Peritaje conforme"},
        "reject": {"rejection_reason": reason, "note": "No cubierto"},
        "close": {},
        "reopen": {"note": "Llegó una factura nueva"},
    }[action]


def make(action, claim, actor, reason):
    """The move by its only door: payment through a confirmed payout, the others through claim_transition."""
    if action == "pay":
        return claim_mark_paid(claim=claim, actor=actor, payout=Payout(reference="TRF-0002"))
    return claim_transition(
        claim=claim, action=action, actor=actor, expected_revision=claim.revision, **inputs_for(action, reason)
    )


def written_in_one_transaction(queries):
    """True when every write happened between the service's one savepoint and its release."""
    sql = [query["sql"] for query in queries]
    opening = sql[0]
    if not opening.startswith("SAVEPOINT "):
        return False
    closing = "RELEASE " + opening
    if sql[-1] != closing or sql.count(opening) != 1:
        return False
    return all(statement.startswith(("SAVEPOINT", "RELEASE", "SELECT", "INSERT", "UPDATE")) for statement in sql)


def allowed(action, role, status):
    transition = workflow.TRANSITIONS[action]
    return role in transition.roles and status in transition.sources


CASES = [
    pytest.param(action, role, status, id=f"{action}-{role}-{status}")
    for action in workflow.TRANSITIONS
    for role in Role
    for status in ClaimStatus
]
ALLOWED = [case for case in CASES if allowed(*case.values)]
FORBIDDEN = [case for case in CASES if not allowed(*case.values)]


@pytest.mark.parametrize(("action", "role", "status"), ALLOWED)
def test_an_allowed_move_writes_the_claim_one_transition_and_one_audit_event_in_one_transaction(
    people, reason, action, role, status
):
    claim = claim_in(status, people)
    actor = actor_of(role)
    transitions, events = ClaimTransition.objects.filter(claim=claim).count(), AuditEvent.objects.count()

    with CaptureQueriesContext(connection) as queries:
        moved = make(action, claim, actor, reason)

    target = workflow.TRANSITIONS[action].target
    stored = Claim.objects.get(pk=claim.pk)
    assert (moved.status, stored.status) == (target, target)
    assert (moved.revision, stored.revision) == (claim.revision + 1, claim.revision + 1)
    assert ClaimTransition.objects.filter(claim=claim).count() == transitions + 1
    last = ClaimTransition.objects.filter(claim=claim).latest("id")
    assert (last.action, last.from_status, last.to_status, last.actor) == (action, status, target, actor)
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.target_id, event.actor) == (f"claim.{action}", str(claim.pk), actor)
    assert (event.metadata["from"], event.metadata["to"]) == (status, target)
    assert written_in_one_transaction(queries.captured_queries)


@pytest.mark.parametrize(("action", "role", "status"), FORBIDDEN)
def test_a_forbidden_move_is_refused_and_changes_nothing(people, reason, action, role, status):
    claim = claim_in(status, people)
    actor = actor_of(role)
    before = footprint(claim)
    # A role that may never make the move hears that first; a role that may, hears the claim moved on.
    expected = PermissionDenied if role not in workflow.TRANSITIONS[action].roles else Conflict

    with pytest.raises(expected):
        make(action, claim, actor, reason)

    assert footprint(claim) == before


# --- what each move needs ----------------------------------------------------------------------------------


def refused(call, claim, error=ValidationError):
    """Run `call`, expect `error`, check the claim is untouched; return the error."""
    before = footprint(claim)
    with pytest.raises(error) as raised:
        call()
    assert footprint(claim) == before
    return raised.value


@pytest.mark.parametrize("role", list(Role))
def test_payment_is_never_a_manual_move_even_for_finance(people, reason, role):
    claim = claim_in(ClaimStatus.APPROVED, people)

    error = refused(lambda: claim_transition(claim=claim, action="pay", actor=actor_of(role)), claim)

    assert error.messages == ["Unknown claim action."]


def test_an_unknown_action_is_refused(people, admin):
    claim = claim_in(ClaimStatus.PENDING, people)

    assert refused(lambda: claim_transition(claim=claim, action="delete", actor=admin), claim).messages == [
        "Unknown claim action."
    ]


def test_reopening_needs_a_note(people, admin):
    claim = claim_in(ClaimStatus.CLOSED, people)

    error = refused(lambda: claim_reopen(claim=claim, actor=admin, note="   "), claim)

    assert error.message_dict == {"note": ["Add a note saying why."]}


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        pytest.param(None, "Pick a rejection reason.", id="none"),
        pytest.param("", "Pick a rejection reason.", id="empty"),
        pytest.param("no-such-reason", "Pick a rejection reason from the list.", id="garbage"),
        pytest.param(999999, "Pick a rejection reason from the list.", id="unknown id"),
        pytest.param("inactive", "Pick a rejection reason from the list.", id="inactive"),
    ],
)
def test_rejecting_needs_an_active_reason_from_the_list(people, admin, choice, message):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)
    if choice == "inactive":
        choice = RejectionReason.objects.create(code="old", label="Old reason", is_active=False)

    error = refused(lambda: claim_reject(claim=claim, actor=admin, reason=choice, note="No"), claim)

    assert error.message_dict == {"rejection_reason": [message]}


def test_rejecting_accepts_a_reason_by_its_id_and_needs_a_note(people, admin, reason):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    error = refused(lambda: claim_reject(claim=claim, actor=admin, reason=reason.pk, note=""), claim)
    rejected = claim_reject(claim=claim, actor=admin, reason=str(reason.pk), note="Exclusión por uso comercial")

    assert error.message_dict == {"note": ["Add a note saying why."]}
    assert (rejected.status, rejected.rejection_reason_id, rejected.decided_by) == ("REJECTED", reason.pk, admin)
    assert AuditEvent.objects.latest("id").metadata == {
        "from": "UNDER_REVIEW",
        "to": "REJECTED",
        "note": "Exclusión por uso comercial",
        "reason": "not-covered",
    }


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        pytest.param(None, "Enter an amount.", id="missing"),
        pytest.param("mucho", "Enter an amount.", id="garbage"),
        pytest.param("0", "The amount must be more than zero.", id="zero"),
        pytest.param("-1", "The amount must be more than zero.", id="negative"),
        pytest.param("5000000.01", "You cannot approve more than was claimed.", id="more than claimed"),
    ],
)
def test_approving_needs_an_amount_no_more_than_claimed(people, admin, amount, message):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    error = refused(lambda: claim_approve(claim=claim, actor=admin, amount=amount, note="Ok"), claim)

    assert error.message_dict == {"approved_amount": [message]}


def test_approving_needs_a_note(people, admin):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    error = refused(lambda: claim_approve(claim=claim, actor=admin, amount="100", note=""), claim)

    assert error.message_dict == {"note": ["Add a note saying why."]}


def test_approving_part_of_a_claim_records_the_amount_and_it_is_rounded_to_the_cent(people, admin):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    approved = claim_approve(claim=claim, actor=admin, amount="3999999.999", note="Menos el deducible")

    assert approved.approved_amount == Decimal("4000000.00")
    assert Claim.objects.get(pk=claim.pk).approved_amount == Decimal("4000000.00")
    assert ClaimTransition.objects.filter(claim=claim).latest("id").amount == Decimal("4000000.00")
    assert AuditEvent.objects.latest("id").metadata == {
        "from": "UNDER_REVIEW",
        "to": "APPROVED",
        "note": "Menos el deducible",
        "amount": "4000000.00",
        "currency": "COP",
    }


def test_approving_cannot_spend_more_than_the_cover_left_by_other_approved_claims(people, admin):
    policy = issue_policy(actor=people.filer)
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people, policy=policy, amount=Decimal("40000000"))
    claim_in(ClaimStatus.PAID, people, policy=policy, amount=Decimal("70000000"))

    error = refused(lambda: claim_approve(claim=claim, actor=admin, amount="30000000.01", note="Ok"), claim)
    approved = claim_approve(claim=claim, actor=admin, amount="30000000", note="Hasta el límite")

    assert error.message_dict == {
        "approved_amount": ["Only COP 30,000,000.00 of this coverage remains in the policy term."]
    }
    assert approved.approved_amount == Decimal("30000000.00")


def test_a_move_on_a_claim_seen_at_an_older_revision_is_refused_as_a_conflict(people, admin, reason):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    error = refused(
        lambda: claim_reject(claim=claim, actor=admin, reason=reason, note="No", expected_revision=1), claim, Conflict
    )

    assert error.messages == [f"Claim {claim.number} changed while you were looking at it; reload it."]


def test_a_stale_claim_object_is_judged_by_what_the_database_holds_now(people, admin, reason):
    pending = claim_in(ClaimStatus.PENDING, people)
    claim_start_review(claim=pending, actor=people.reviewer)
    claim_reject(claim=pending, actor=admin, reason=reason, note="No")
    assert pending.status == ClaimStatus.PENDING

    error = refused(lambda: claim_start_review(claim=pending, actor=people.reviewer), pending, Conflict)

    assert error.messages == [f"Claim {pending.number} is rejected now, so it cannot be put under review."]


def test_a_role_that_may_never_make_a_move_is_told_so_before_being_asked_for_its_inputs(people):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    error = refused(
        lambda: claim_approve(claim=claim, actor=people.payer, amount=None, note=""), claim, PermissionDenied
    )

    assert str(error) == "Your role cannot use “Approve” on claims."


def test_starting_a_review_makes_the_actor_reviewer_and_assignee_unless_someone_is_assigned(people):
    first = claim_in(ClaimStatus.PENDING, people)
    second = claim_in(ClaimStatus.PENDING, people)
    Claim.objects.filter(pk=second.pk).update(assignee=people.decider)

    first = claim_start_review(claim=first, actor=people.reviewer)
    second = claim_start_review(claim=second, actor=people.reviewer)

    assert (first.reviewed_by, first.assignee) == (people.reviewer, people.reviewer)
    assert (second.reviewed_by, second.assignee) == (people.reviewer, people.decider)


# --- payment -----------------------------------------------------------------------------------------------


def test_a_confirmed_payout_marks_the_claim_paid_with_the_payout_reference_and_the_approved_amount(people):
    claim = claim_in(ClaimStatus.APPROVED, people)

    paid = claim_mark_paid(claim=claim, actor=people.payer, payout=Payout(reference="TRF-7781"))

    assert paid.status == ClaimStatus.PAID
    transition = ClaimTransition.objects.filter(claim=claim).latest("id")
    assert (transition.action, transition.note, transition.amount) == ("pay", "TRF-7781", CLAIMED)
    assert AuditEvent.objects.latest("id").metadata == {
        "from": "APPROVED",
        "to": "PAID",
        "note": "TRF-7781",
        "amount": "5000000.00",
        "currency": "COP",
        "payout": "TRF-7781",
    }


@dataclass
class NumberedPayout:
    """A payout as the payments app keeps it: known by its number."""

    number: str
    pk: int = 7


def test_a_numbered_payout_is_recorded_by_its_number(people):
    claim = claim_in(ClaimStatus.APPROVED, people)

    claim_mark_paid(claim=claim, actor=people.payer, payout=NumberedPayout(number="PAG-2026-000031"))

    assert ClaimTransition.objects.filter(claim=claim).latest("id").note == "PAG-2026-000031"


def test_a_move_given_the_revision_as_text_compares_it_as_the_number_it_is(people, admin):
    claim = claim_in(ClaimStatus.PENDING, people)

    moved = claim_start_review(claim=claim, actor=admin, expected_revision=str(claim.revision))

    assert moved.status == ClaimStatus.UNDER_REVIEW
    refused(lambda: claim_close(claim=claim, actor=admin, expected_revision="1"), claim, Conflict)


def test_a_payout_confirmed_by_the_gateway_marks_the_claim_paid_without_a_person(people):
    claim = claim_in(ClaimStatus.APPROVED, people)

    paid = claim_mark_paid(claim=claim, actor=None, payout=Payout(reference="", pk=42))

    assert paid.status == ClaimStatus.PAID
    transition = ClaimTransition.objects.filter(claim=claim).latest("id")
    assert (transition.actor, transition.note) == (None, "42")
    assert AuditEvent.objects.latest("id").actor is None


@pytest.mark.parametrize("status", [s for s in ClaimStatus if s != ClaimStatus.APPROVED])
def test_a_payout_confirmed_by_the_gateway_cannot_pay_a_claim_that_is_not_approved(people, status):
    claim = claim_in(status, people)

    refused(lambda: claim_mark_paid(claim=claim, actor=None, payout=Payout(reference="X")), claim, Conflict)


# --- reopening ---------------------------------------------------------------------------------------------


def test_whoever_reopens_a_claim_is_its_reviewer_and_somebody_else_must_approve_it_again(people, admin):
    claim = claim_close(claim=claim_in(ClaimStatus.REJECTED, people), actor=people.decider)

    reopened = claim_reopen(claim=claim, actor=admin, note="El cliente aportó otra factura")
    refusal = refused(lambda: claim_approve(claim=claim, actor=admin, amount="100", note="Ok"), claim, PermissionDenied)
    approved = claim_approve(claim=claim, actor=people.decider, amount="4500000", note="Nuevo peritaje")

    assert (reopened.status, reopened.reviewed_by) == (ClaimStatus.UNDER_REVIEW, admin)
    assert str(refusal) == "You reviewed this claim; somebody else must approve it."
    assert approved.approved_amount == Decimal("4500000.00")


def test_approving_a_reopened_rejected_claim_clears_its_rejection_reason(people, admin):
    rejected = claim_close(claim=claim_in(ClaimStatus.REJECTED, people), actor=people.decider)
    claim_reopen(claim=rejected, actor=admin, note="Nueva evidencia")

    approved = claim_approve(claim=rejected, actor=people.decider, amount="1000000", note="Cubierto")

    assert (approved.status, approved.rejection_reason, approved.approved_amount) == (
        ClaimStatus.APPROVED,
        None,
        Decimal("1000000.00"),
    )
    assert Claim.objects.filter(pk=rejected.pk, rejection_reason__isnull=True).exists()


def test_a_reopened_paid_claim_keeps_its_cover_until_a_rejection_releases_it(people, admin, reason):
    policy = issue_policy(actor=people.filer)
    paid = claim_in(ClaimStatus.CLOSED, people, policy=policy, amount=Decimal("60000000"))
    claim_reopen(claim=paid, actor=admin, note="Revisión por posible fraude")

    def file_forty_million_and_one():
        return claim_file(
            policy=policy,
            coverage_code="RC",
            loss_date=paid.loss_date,
            claimed_amount="40000000.01",
            description="Otro choque",
            actor=people.filer,
        )

    with pytest.raises(ValidationError):
        file_forty_million_and_one()
    rejected = claim_reject(claim=paid, actor=people.decider, reason=reason, note="Fraude comprobado")

    assert rejected.approved_amount is None
    assert file_forty_million_and_one().claimed_amount == Decimal("40000000.01")


def test_the_timeline_lists_every_move_in_order_with_who_made_it(people):
    claim = claim_in(ClaimStatus.CLOSED, people)

    steps = [(t.action, t.from_status, t.to_status, t.actor) for t in claim_timeline(claim)]

    assert steps == [
        ("file", "", "PENDING", people.filer),
        ("start_review", "PENDING", "UNDER_REVIEW", people.reviewer),
        ("approve", "UNDER_REVIEW", "APPROVED", people.decider),
        ("pay", "APPROVED", "PAID", people.payer),
        ("close", "PAID", "CLOSED", people.decider),
    ]
