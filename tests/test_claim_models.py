"""The claim tables' own invariants: append-only transitions and the check constraints the database enforces."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from portal.accounts.models import Role
from portal.claims.models import (
    ApprovalAuthority,
    BulkTransitionJob,
    BulkTransitionResult,
    Claim,
    ClaimStatus,
    ClaimTransition,
    RejectionReason,
)

from .factories import UserFactory, grant_approval_limit
from .helpers import claim_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(people):
    return claim_in(ClaimStatus.UNDER_REVIEW, people)


def refused_by_the_database(**changes):
    """The UPDATE of one claim with `changes` raises IntegrityError and leaves the row as it was."""

    def update(claim):
        before = Claim.objects.filter(pk=claim.pk).values().get()
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(**changes)
        assert Claim.objects.filter(pk=claim.pk).values().get() == before

    return update


# --- transitions are append-only ---------------------------------------------------------------------------


def test_a_recorded_transition_cannot_be_saved_again_or_deleted_through_the_model(claim):
    transition = ClaimTransition.objects.filter(claim=claim).first()
    transition.note = "Rewritten history"

    with pytest.raises(TypeError, match="append-only"):
        transition.save()
    with pytest.raises(TypeError, match="append-only"):
        transition.delete()

    assert ClaimTransition.objects.get(pk=transition.pk).note == ""


def test_a_claim_with_transitions_cannot_be_deleted(claim):
    with pytest.raises(Exception, match="protected"), transaction.atomic():
        claim.delete()

    assert Claim.objects.filter(pk=claim.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE claims_claimtransition SET note = 'rewritten' WHERE claim_id = %s",
        "UPDATE claims_claimtransition SET to_status = 'APPROVED' WHERE claim_id = %s",
        "DELETE FROM claims_claimtransition WHERE claim_id = %s",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes_of_transitions(claim, statement):
    before = list(ClaimTransition.objects.filter(claim=claim).values())

    with (
        pytest.raises((InternalError, ProgrammingError), match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [claim.pk])

    assert list(ClaimTransition.objects.filter(claim=claim).values()) == before


def test_transition_querysets_refuse_updates_and_deletes(claim):
    with pytest.raises(TypeError):
        ClaimTransition.objects.filter(claim=claim).update(note="rewritten")
    with pytest.raises(TypeError):
        ClaimTransition.objects.filter(claim=claim).delete()

    assert ClaimTransition.objects.filter(claim=claim).count() == 2


# --- check constraints on claims ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ClaimStatus.APPROVED, ClaimStatus.PAID])
def test_an_approved_or_paid_claim_needs_an_approved_amount(claim, status):
    refused_by_the_database(status=status, approved_amount=None)(claim)


def test_a_rejected_claim_needs_a_rejection_reason(claim):
    refused_by_the_database(status=ClaimStatus.REJECTED, rejection_reason=None)(claim)


def test_the_decider_of_a_claim_cannot_be_the_person_who_filed_it(claim):
    refused_by_the_database(decided_by=claim.filed_by)(claim)


def test_the_decider_may_be_anyone_else(claim, people):
    Claim.objects.filter(pk=claim.pk).update(decided_by=people.decider)

    assert Claim.objects.get(pk=claim.pk).decided_by == people.decider


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1")])
def test_amounts_claimed_and_approved_are_more_than_zero(claim, amount):
    refused_by_the_database(claimed_amount=amount)(claim)
    refused_by_the_database(approved_amount=amount)(claim)


def test_a_claim_status_outside_the_state_machine_is_refused(claim):
    refused_by_the_database(status="LOST")(claim)


def test_claim_numbers_are_unique(people, claim):
    other = claim_in(ClaimStatus.PENDING, people)

    refused_by_the_database(number=claim.number)(other)


def test_the_constraints_accept_every_state_the_services_produce(people):
    for status in ClaimStatus:
        claim_in(status, people)

    assert sorted(Claim.objects.values_list("status", flat=True)) == sorted(ClaimStatus.values)


# --- authorities, reasons, bulk results --------------------------------------------------------------------


def test_one_authority_per_person_and_currency_and_never_negative(db):
    supervisor = grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000")

    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalAuthority.objects.create(user=supervisor, currency="COP", limit=Decimal("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalAuthority.objects.create(user=supervisor, currency="USD", limit=Decimal("-1"))
    ApprovalAuthority.objects.create(user=supervisor, currency="USD", limit=Decimal("0"))

    assert list(
        ApprovalAuthority.objects.filter(user=supervisor).order_by("currency").values_list("limit", flat=True)
    ) == [
        Decimal("1000.00"),
        Decimal("0.00"),
    ]


def test_a_new_installation_starts_with_the_usual_rejection_reasons_in_order(db):
    assert list(RejectionReason.objects.filter(is_active=True).values_list("code", flat=True)) == [
        "not-covered",
        "exclusion",
        "below-deductible",
        "late-notice",
        "no-evidence",
        "misrepresentation",
    ]


def test_a_bulk_job_has_one_result_per_claim_and_may_record_one_for_an_id_that_matches_no_claim(claim, people):
    job = BulkTransitionJob.objects.create(action="close", actor=people.decider, claim_ids=[claim.pk], total=1)
    BulkTransitionResult.objects.create(job=job, claim=claim, outcome="DONE")
    BulkTransitionResult.objects.create(job=job, claim_id=claim.pk + 1000, outcome="REFUSED", message="Not found")

    with pytest.raises(IntegrityError), transaction.atomic():
        BulkTransitionResult.objects.create(job=job, claim=claim, outcome="REFUSED")

    assert BulkTransitionResult.objects.filter(job=job).count() == 2
