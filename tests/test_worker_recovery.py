"""The scheduler's sweep: imports, report runs and bulk claim actions whose worker went silent for
AMPARO_WORKER_SILENCE_SECONDS are queued again, once, with an audit event by "scheduler"; work
with a fresh sign of life is left alone; the rerun ends as a clean run would; two sweeps at once
requeue a job once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import bulk as claim_bulk
from portal.claims import workflow
from portal.claims.bulk import bulk_transition_run, bulk_transition_start, bulk_transitions_requeue_silent
from portal.claims.models import BulkTransitionJob, BulkTransitionResult, ClaimStatus, ClaimTransition
from portal.core.tasks import worker_silence
from portal.ingestion import services as ingestion_services
from portal.ingestion.models import ImportJob, RiskRow
from portal.ingestion.services import import_jobs_requeue_silent
from portal.reports.generate import report_run_generate
from portal.reports.models import ReportRun
from portal.reports.services import report_runs_requeue_silent

from .factories import UserFactory
from .helpers import claim_in, import_file, risk_file, run_import, run_together, upload, valid_rows

COMPARED = ("umr", "certificate_ref", "row_number", "insured_name", "currency", "sum_insured", "gross_premium")


def silent(seconds=1):
    return timezone.now() - worker_silence() - timedelta(seconds=seconds)


def requeued_events(action, target):
    return AuditEvent.objects.filter(action=action, target_id=str(target.pk), actor_label="scheduler")


def stored_rows(job):
    return list(RiskRow.objects.filter(source=job.source).order_by("row_number").values_list(*COMPARED))


@pytest.fixture
def queued(monkeypatch):
    """What the sweeps queue, instead of running it (the tests run it themselves)."""
    calls = []
    monkeypatch.setattr(ingestion_services, "_enqueue", lambda job: calls.append(job.pk))
    monkeypatch.setattr("portal.claims.bulk.enqueue_on_commit", lambda path, **kwargs: calls.append(kwargs))
    monkeypatch.setattr("portal.reports.services.enqueue_on_commit", lambda path, **kwargs: calls.append(kwargs))
    return calls


# --- imports ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_import_whose_worker_went_silent_is_queued_again_once_and_a_fresh_one_is_left_alone(
    source, private_root, queued
):
    dead = upload(source, risk_file(valid_rows(5)), name="dead.csv")
    alive = upload(source, risk_file(valid_rows(5, start=5)), name="alive.csv")
    ImportJob.objects.filter(pk=dead.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=silent(), progress=40)
    ImportJob.objects.filter(pk=alive.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())

    assert import_jobs_requeue_silent() == 1
    assert import_jobs_requeue_silent() == 0

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.progress) == (ImportJob.Status.QUEUED, 0)
    assert alive.status == ImportJob.Status.RUNNING
    assert queued == [dead.pk]
    assert requeued_events("ingestion.import_requeued", dead).get().metadata["was"] == "RUNNING"


@pytest.mark.django_db
def test_an_import_queued_but_never_picked_up_is_queued_again_after_the_silence(source, private_root, queued):
    lost = upload(source, risk_file(valid_rows(3)), name="lost.csv")
    waiting = upload(source, risk_file(valid_rows(3, start=3)), name="waiting.csv")
    ImportJob.objects.filter(pk=lost.pk).update(created_at=silent())

    assert import_jobs_requeue_silent() == 1
    assert queued == [lost.pk]
    waiting.refresh_from_db()
    assert waiting.status == ImportJob.Status.QUEUED and not requeued_events("ingestion.import_requeued", waiting)


@pytest.mark.django_db
def test_an_import_killed_after_its_rows_were_written_ends_equal_to_a_clean_run(source, private_root, queued):
    job = import_file(source, risk_file(valid_rows(30)))
    clean = stored_rows(job)
    assert job.status == ImportJob.Status.SUCCEEDED and len(clean) == 30
    # The worker died after the rows' transaction committed and before the job was marked done.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=silent())

    assert import_jobs_requeue_silent() == 1
    job = run_import(job)

    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 30, 0)
    assert stored_rows(job) == clean


@pytest.mark.django_db
def test_a_silent_import_whose_cancel_was_asked_is_cancelled_not_queued(source, private_root, queued):
    job = upload(source, risk_file(valid_rows(3)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, heartbeat_at=silent(), cancel_requested=True
    )
    assert import_jobs_requeue_silent() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED and queued == []


@pytest.mark.django_db
def test_a_slow_worker_whose_import_was_queued_again_leaves_it_to_the_new_run(source, private_root, queued):
    job = upload(source, risk_file(valid_rows(5)))
    original, taken = ImportJob.objects.filter, []

    def requeued_midway(*args, **kwargs):
        # As the worker starts, it goes silent long enough for the sweep to take the job back.
        if not taken and kwargs.get("status") == ImportJob.Status.RUNNING and "started_at" in kwargs:
            taken.append(True)
            original(pk=job.pk).update(heartbeat_at=silent())
            import_jobs_requeue_silent()
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ImportJob.objects, "filter", requeued_midway)
        assert run_import(job).status == ImportJob.Status.QUEUED
    assert RiskRow.objects.filter(source=source).count() == 0
    assert run_import(job).status == ImportJob.Status.SUCCEEDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_queue_a_silent_import_once(source, private_root, queued):
    job = upload(source, risk_file(valid_rows(3)))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=silent())

    results, errors = run_together(lambda _: import_jobs_requeue_silent(), [1, 2])

    assert errors == [] and sorted(results) == [0, 1]
    assert queued == [job.pk] and requeued_events("ingestion.import_requeued", job).count() == 1


# --- report runs ------------------------------------------------------------------------------------------------


def a_run(user, **fields):
    return ReportRun.objects.create(report="collections", format="csv", requested_by=user, **fields)


@pytest.mark.django_db
def test_a_report_run_whose_worker_went_silent_is_generated_again_once_and_ends_as_a_clean_run(
    finance_user, private_root, queued
):
    clean = report_run_generate(run_id=a_run(finance_user).pk)
    dead = a_run(
        finance_user, status=ReportRun.Status.RUNNING, started_at=silent(60), heartbeat_at=silent(), progress=40
    )
    alive = a_run(finance_user, status=ReportRun.Status.RUNNING, started_at=silent(60), heartbeat_at=timezone.now())

    assert report_runs_requeue_silent() == 1
    assert report_runs_requeue_silent() == 0

    alive.refresh_from_db()
    assert alive.status == ReportRun.Status.RUNNING
    assert queued == [{"run_id": str(dead.pk)}]
    assert requeued_events("report.requeued", dead).get().metadata["was"] == "RUNNING"
    dead = report_run_generate(run_id=dead.pk)
    assert (dead.status, dead.row_count, dead.progress) == (ReportRun.Status.SUCCEEDED, clean.row_count, 100)


@pytest.mark.django_db
def test_a_slow_report_worker_whose_run_was_queued_again_drops_its_own_file(finance_user, private_root, queued):
    run = a_run(finance_user)
    original, taken = ReportRun.objects.filter, []

    def requeued_midway(*args, **kwargs):
        if not taken and kwargs.get("status") == ReportRun.Status.RUNNING and "started_at" in kwargs:
            taken.append(True)
            original(pk=run.pk).update(heartbeat_at=silent())
            report_runs_requeue_silent()
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReportRun.objects, "filter", requeued_midway)
        assert report_run_generate(run_id=run.pk).status == ReportRun.Status.QUEUED
    assert [path for path in private_root.rglob("*") if path.is_file()] == []
    assert report_run_generate(run_id=run.pk).status == ReportRun.Status.SUCCEEDED


# --- bulk claim actions -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bulk_action_whose_worker_went_silent_is_queued_again_and_moves_each_claim_once(people, queued):
    supervisor = UserFactory(role=Role.SUPERVISOR)
    claims = [claim_in(ClaimStatus.PENDING, people) for _ in range(4)]
    job = bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claim.pk for claim in claims])
    fresh = bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claims[0].pk])
    # The dead worker had decided the first two claims.
    services_chunk(job, claims[:2])
    BulkTransitionJob.objects.filter(pk=job.pk).update(status=BulkTransitionJob.Status.RUNNING, heartbeat_at=silent())
    BulkTransitionJob.objects.filter(pk=fresh.pk).update(created_at=timezone.now())

    assert bulk_transitions_requeue_silent() == 1
    assert bulk_transitions_requeue_silent() == 0
    assert queued == [{"job_id": str(job.pk)}]
    assert requeued_events("claim.bulk_requeued", job).get().metadata == {"was": "RUNNING", "processed": 2, "total": 4}

    job = bulk_transition_run(job=BulkTransitionJob.objects.get(pk=job.pk))
    assert (job.status, job.processed, job.applied) == (BulkTransitionJob.Status.FINISHED, 4, 4)
    assert BulkTransitionResult.objects.filter(job=job).count() == 4
    for claim in claims:
        assert ClaimTransition.objects.filter(claim=claim, action="start_review").count() == 1


def services_chunk(job, claims):
    """The chunk the dead worker committed before it died."""
    claim_bulk._bulk_chunk(job, workflow.TRANSITIONS[job.action], [claim.pk for claim in claims])
