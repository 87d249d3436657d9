"""Running a queued import job to its end, in the worker: the function its task runs, in a module that
never enqueues. Not one transaction: progress must be visible while it runs; the rows themselves are
written in one transaction at the end (see `pipeline`)."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.audit.services import audit_record
from portal.core.tasks import heartbeat

from .models import ImportJob, MappingProfile
from .pipeline import JobCancelled, run_import
from .readers import UnreadableFile

logger = logging.getLogger(__name__)


class JobTaken(JobCancelled):
    """The sweep queued the job again while this worker, silent too long, still ran it."""


def _still_mine(job):
    """The job's row while it is still the run this worker claimed (the sweep's requeue clears it)."""
    return ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING, started_at=job.started_at)


def _claim(job_id):
    """Mark the job running unless it was cancelled first; only one worker gets it."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("source").get(pk=job_id)
        if job.status != ImportJob.Status.QUEUED:
            return None
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at"])
        return job


def import_job_run(*, job_id):
    """Run a queued job to its end. Not one transaction: progress must be visible while it runs;
    the rows themselves are written in one transaction at the end (see engine)."""
    job = _claim(job_id)
    if job is None:
        return None
    profile = MappingProfile.objects.filter(source=job.source, kind=job.kind).first()
    mine = _still_mine(job)

    def on_progress(rows_read, rows_rejected, fraction):
        if not mine.update(
            rows_total=rows_read,
            rows_rejected=rows_rejected,
            progress=min(95, int(fraction * 95)),
            heartbeat_at=timezone.now(),
        ):
            raise JobTaken
        if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise JobCancelled

    try:
        with heartbeat(mine):
            outcome = run_import(job, profile=profile, on_progress=on_progress)
    except JobTaken:
        logger.warning("import job %s was queued again while this worker ran it; leaving it", job.pk)
        return None
    except JobCancelled:
        _end(job, status=ImportJob.Status.CANCELLED, action="ingestion.import_cancelled")
        return None
    except UnreadableFile as exc:
        _end(job, status=ImportJob.Status.FAILED, action="ingestion.import_failed", error=str(exc))
        return None
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _end(
            job,
            status=ImportJob.Status.FAILED,
            action="ingestion.import_failed",
            error=_("The import stopped on an unexpected error; nothing was loaded. Run it again or contact support."),
        )
        raise
    all_or_nothing_refused = profile is not None and profile.all_or_nothing and outcome.rows_rejected
    _end(
        job,
        status=ImportJob.Status.FAILED if all_or_nothing_refused else ImportJob.Status.SUCCEEDED,
        action="ingestion.import_finished",
        error=ngettext(
            "Nothing loaded: the profile is all-or-nothing and %(count)d row was rejected.",
            "Nothing loaded: the profile is all-or-nothing and %(count)d rows were rejected.",
            outcome.rows_rejected,
        )
        % {"count": outcome.rows_rejected}
        if all_or_nothing_refused
        else "",
        counts=outcome,
    )
    return outcome


@transaction.atomic
def _end(job, *, status, action, error="", counts=None):
    values = {"status": status, "error": error, "finished_at": timezone.now()}
    if counts is not None:
        values.update(
            rows_total=counts.rows_total,
            rows_loaded=counts.rows_loaded,
            rows_rejected=counts.rows_rejected,
            progress=100,
        )
    if not _still_mine(job).update(**values):
        return
    job.refresh_from_db()
    audit_record(
        actor=job.created_by,
        action=action,
        target=job,
        metadata={
            "status": status,
            "rows_total": job.rows_total,
            "rows_loaded": job.rows_loaded,
            "rows_rejected": job.rows_rejected,
            "error": error,
        },
    )
