"""Bulk moves at the service level: the same rules claim by claim, a result per claim, applied once."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import bulk, services, workflow
from portal.claims.bulk import bulk_transition_run, bulk_transition_start
from portal.claims.models import (
    BulkTransitionJob,
    BulkTransitionResult,
    Claim,
    ClaimStatus,
    ClaimTransition,
    RejectionReason,
)
from portal.claims.services import claim_reject, claim_start_review

from .factories import UserFactory, file_claim, issue_policy
from .helpers import claim_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor():
    return UserFactory(role=Role.SUPERVISOR)


@pytest.fixture
def reason():
    return RejectionReason.objects.get(code="exclusion")


def outcomes(job):
    return {
        result.claim_id: (result.outcome, result.message)
        for result in BulkTransitionResult.objects.filter(job=job).order_by("claim_id")
    }


def test_a_bulk_rejection_applies_the_rules_claim_by_claim_and_records_why_each_refused_one_was_refused(
    people, supervisor, reason
):
    under_review = [claim_in(ClaimStatus.UNDER_REVIEW, people) for _ in range(3)]
    pending = claim_in(ClaimStatus.PENDING, people)
    paid = claim_in(ClaimStatus.PAID, people)
    own = claim_start_review(claim=file_claim(actor=supervisor), actor=people.reviewer)
    unknown = Claim.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    ids = [claim.pk for claim in [*under_review, pending, paid, own]] + [unknown]
    events = AuditEvent.objects.count()

    job = bulk_transition_start(
        actor=supervisor, action="reject", claim_ids=ids, note="Exclusión por uso comercial", rejection_reason=reason
    )
    job = bulk_transition_run(job=job)

    assert (job.status, job.total, job.processed, job.applied, job.refused) == ("FINISHED", 7, 7, 3, 4)
    assert job.finished_at is not None and job.percent == 100
    assert outcomes(job) == {
        **{claim.pk: ("DONE", "") for claim in under_review},
        pending.pk: ("REFUSED", f"Claim {pending.number} is pending now, so it cannot be rejected."),
        paid.pk: ("REFUSED", f"Claim {paid.number} is paid now, so it cannot be rejected."),
        own.pk: ("REFUSED", "You filed this claim; somebody else must decide on it."),
        unknown: ("REFUSED", "Claim not found."),
    }
    for claim in under_review:
        stored = Claim.objects.get(pk=claim.pk)
        assert (stored.status, stored.rejection_reason, stored.decided_by, stored.revision) == (
            ClaimStatus.REJECTED,
            reason,
            supervisor,
            claim.revision + 1,
        )
        assert ClaimTransition.objects.filter(claim=claim, action="reject").count() == 1
    for claim in (pending, paid, own):
        stored = Claim.objects.get(pk=claim.pk)
        assert (stored.status, stored.revision) == (claim.status, claim.revision)
        assert not ClaimTransition.objects.filter(claim=claim, action="reject").exists()
    # One event for the job, one per claim changed, none for the refused ones.
    assert AuditEvent.objects.count() == events + 1 + 3
    assert AuditEvent.objects.filter(action="claim.bulk_started").get().metadata == {"action": "reject", "claims": 7}
    rejected_events = AuditEvent.objects.filter(action="claim.reject")
    assert sorted(int(event.target_id) for event in rejected_events) == sorted(claim.pk for claim in under_review)


def test_the_bulk_path_and_the_one_claim_path_leave_the_same_rows(people, supervisor, reason):
    policy = issue_policy(actor=people.filer)
    alone, in_bulk = (claim_in(ClaimStatus.UNDER_REVIEW, people, policy=policy) for _ in range(2))

    claim_reject(claim=alone, actor=supervisor, reason=reason, note="Exclusión")
    job = bulk_transition_run(
        job=bulk_transition_start(
            actor=supervisor, action="reject", claim_ids=[in_bulk.pk], note="Exclusión", rejection_reason=reason
        )
    )

    different = {"id", "number", "created_at", "status_changed_at"}

    def claim_row(claim):
        row = Claim.objects.filter(pk=claim.pk).values().get()
        return {field: value for field, value in row.items() if field not in different}

    def transition_row(claim):
        row = ClaimTransition.objects.filter(claim=claim).values().latest("id")
        return {field: value for field, value in row.items() if field not in {"id", "claim_id", "created_at"}}

    def event_row(claim):
        row = AuditEvent.objects.filter(target_id=str(claim.pk), action="claim.reject").values().get()
        return {
            field: value
            for field, value in row.items()
            if field not in {"id", "target_id", "target_label", "occurred_at", "correlation_id"}
        }

    assert claim_row(alone) == claim_row(in_bulk)
    assert transition_row(alone) == transition_row(in_bulk)
    bulk_event = event_row(in_bulk)
    assert bulk_event["metadata"].pop("bulk_job") == str(job.pk)
    assert event_row(alone) == bulk_event


@pytest.mark.parametrize("action", ["start_review", "close", "reopen"])
def test_every_bulk_move_leaves_the_same_claim_and_transition_as_the_one_claim_move(people, action):
    status = {"start_review": ClaimStatus.PENDING, "close": ClaimStatus.PAID, "reopen": ClaimStatus.CLOSED}[action]
    actor = UserFactory(role=Role.ADMIN)
    policy = issue_policy(actor=people.filer)
    alone, in_bulk = (claim_in(status, people, policy=policy) for _ in range(2))
    note = "Revisión general" if action == "reopen" else ""

    services.claim_transition(claim=alone, action=action, actor=actor, note=note)
    bulk_transition_run(job=bulk_transition_start(actor=actor, action=action, claim_ids=[in_bulk.pk], note=note))

    def row(claim):
        stored = Claim.objects.filter(pk=claim.pk).values().get()
        last = ClaimTransition.objects.filter(claim=claim).values().latest("id")
        for ignored in ("id", "number", "created_at", "status_changed_at"):
            stored.pop(ignored)
        for ignored in ("id", "claim_id", "created_at"):
            last.pop(ignored)
        return stored, last

    assert row(alone) == row(in_bulk)


def test_a_bulk_review_keeps_an_existing_assignee_and_assigns_the_reviewer_to_the_others(people, supervisor):
    assigned, unassigned = (claim_in(ClaimStatus.PENDING, people) for _ in range(2))
    Claim.objects.filter(pk=assigned.pk).update(assignee=people.decider)

    bulk_transition_run(
        job=bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[assigned.pk, unassigned.pk])
    )

    assert Claim.objects.filter(pk=assigned.pk, assignee=people.decider, reviewed_by=supervisor).exists()
    assert Claim.objects.filter(pk=unassigned.pk, assignee=supervisor, reviewed_by=supervisor).exists()


@pytest.mark.parametrize("left_as", [BulkTransitionJob.Status.RUNNING, BulkTransitionJob.Status.FAILED])
def test_running_a_half_done_job_again_applies_only_the_claims_without_a_result(
    people, supervisor, monkeypatch, left_as
):
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(5)]
    job = bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claim.pk for claim in claims])
    # A worker that committed its first chunk and then died, or stopped on an error: the results
    # of those claims exist.
    bulk._bulk_chunk(job, workflow.TRANSITIONS["start_review"], job.claim_ids[:2])
    BulkTransitionJob.objects.filter(pk=job.pk).update(status=left_as, error="Stopped")
    job.refresh_from_db()
    monkeypatch.setattr(bulk, "BULK_CHUNK", 2)

    job = bulk_transition_run(job=job)

    assert (job.status, job.processed, job.applied, job.refused, job.error) == ("FINISHED", 5, 5, 0, "")
    assert set(outcomes(job).values()) == {("DONE", "")}
    assert ClaimTransition.objects.filter(action="start_review").count() == 5
    assert AuditEvent.objects.filter(action="claim.start_review").count() == 5
    assert set(Claim.objects.values_list("revision", flat=True)) == {2}


def test_running_a_finished_job_again_changes_nothing(people, supervisor):
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(3)]
    job = bulk_transition_run(
        job=bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claim.pk for claim in claims])
    )
    finished_at, transitions, events = job.finished_at, ClaimTransition.objects.count(), AuditEvent.objects.count()

    job = bulk_transition_run(job=job)
    BulkTransitionJob.objects.filter(pk=job.pk).update(status=BulkTransitionJob.Status.RUNNING)
    job.refresh_from_db()
    job = bulk_transition_run(job=job)

    assert (job.processed, job.applied, job.refused) == (3, 3, 0)
    assert job.status == "FINISHED"
    assert (ClaimTransition.objects.count(), AuditEvent.objects.count()) == (transitions, events)
    assert job.finished_at >= finished_at


def test_a_job_over_several_chunks_reports_every_claim(people, supervisor, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_CHUNK", 3)
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(7)]

    job = bulk_transition_run(
        job=bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[c.pk for c in claims] * 2)
    )

    assert (job.total, job.processed, job.applied) == (7, 7, 7)
    assert len(outcomes(job)) == 7


# --- what a bulk job needs ---------------------------------------------------------------------------------


def nothing_started():
    return not BulkTransitionJob.objects.exists() and not AuditEvent.objects.filter(action="claim.bulk_started")


@pytest.mark.parametrize("action", ["approve", "pay", "file", "delete", ""])
def test_only_moves_without_an_amount_or_a_payout_can_be_applied_in_bulk(people, supervisor, action):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    with pytest.raises(ValidationError) as refused:
        bulk_transition_start(actor=supervisor, action=action, claim_ids=[claim.pk])

    assert refused.value.message_dict == {"action": ["Pick an action that can be applied to many claims."]}
    assert nothing_started()


@pytest.mark.parametrize(
    ("role", "action"), [(Role.AGENT, "reject"), (Role.FINANCE, "close"), (Role.SUPERVISOR, "reopen")]
)
def test_a_role_that_may_not_make_the_move_cannot_start_a_bulk_job_for_it(people, reason, role, action):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    with pytest.raises(PermissionDenied):
        bulk_transition_start(
            actor=UserFactory(role=role), action=action, claim_ids=[claim.pk], note="x", rejection_reason=reason
        )

    assert nothing_started()


def test_a_bulk_rejection_needs_an_active_reason_and_a_note(people, supervisor, reason):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)
    reason.is_active = False
    reason.save()

    with pytest.raises(ValidationError) as without_reason:
        bulk_transition_start(actor=supervisor, action="reject", claim_ids=[claim.pk], note="x")
    with pytest.raises(ValidationError) as inactive:
        bulk_transition_start(
            actor=supervisor, action="reject", claim_ids=[claim.pk], note="x", rejection_reason=reason
        )
    with pytest.raises(ValidationError) as without_note:
        bulk_transition_start(
            actor=supervisor, action="reject", claim_ids=[claim.pk], rejection_reason=RejectionReason.objects.first()
        )

    assert without_reason.value.message_dict == {"rejection_reason": ["Pick a rejection reason."]}
    assert inactive.value.message_dict == {"rejection_reason": ["Pick a rejection reason from the list."]}
    assert without_note.value.message_dict == {"note": ["Add a note saying why."]}
    assert nothing_started()


@pytest.mark.parametrize(
    ("claim_ids", "message"),
    [
        pytest.param([], "Select at least one claim.", id="none"),
        pytest.param(["12", "abc"], "Select claims from the list.", id="garbage"),
        pytest.param([None], "Select claims from the list.", id="a null"),
    ],
)
def test_a_bulk_job_needs_claims_given_by_their_ids(supervisor, claim_ids, message):
    with pytest.raises(ValidationError) as refused:
        bulk_transition_start(actor=supervisor, action="start_review", claim_ids=claim_ids)

    assert refused.value.messages == [message]
    assert nothing_started()


def test_a_bulk_job_over_the_maximum_is_refused_by_the_service_itself(supervisor, monkeypatch):
    monkeypatch.setattr(workflow, "BULK_MAX", 2)

    with pytest.raises(ValidationError) as refused:
        bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[1, 2, 3])

    assert refused.value.messages == ["A bulk action takes at most 2 claims at a time; narrow the filter."]
    assert nothing_started()


def test_a_small_bulk_job_runs_in_the_request_and_a_large_one_in_the_worker(
    people, supervisor, settings, django_capture_on_commit_callbacks
):
    settings.AMPARO_CLAIM_BULK_IN_REQUEST = 1
    small, large = [claim_in(ClaimStatus.PENDING, people)], [claim_in(ClaimStatus.PENDING, people) for _ in range(2)]

    ran = bulk.bulk_transition_submit(actor=supervisor, action="start_review", claim_ids=[c.pk for c in small])
    with django_capture_on_commit_callbacks() as queued:
        waiting = bulk.bulk_transition_submit(actor=supervisor, action="start_review", claim_ids=[c.pk for c in large])

    assert ran.status == "FINISHED"
    assert waiting.status == "QUEUED"
    assert len(queued) == 1


def test_claim_ids_given_as_text_are_read_as_numbers_once_each(people, supervisor):
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(2)]

    job = bulk_transition_start(
        actor=supervisor, action="start_review", claim_ids=[str(claims[1].pk), claims[0].pk, str(claims[0].pk)]
    )

    assert job.claim_ids == sorted(claim.pk for claim in claims)
    assert job.total == 2
