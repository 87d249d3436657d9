"""Bordereau imports and web-service pulls in the background (thin wrappers around their runners)."""

from huey import crontab

from portal.core.tasks import correlated_periodic_task, correlated_task, local_crontab

from .runner import import_job_run
from .services import import_jobs_requeue_silent
from .sources.pages import pages_purge
from .sources.services import sync_runs_due
from .sources.sync import sync_run_execute


@correlated_task()
def import_job_process(job_id):
    import_job_run(job_id=job_id)


@correlated_task()
def source_sync_process(run_id):
    sync_run_execute(run_id=run_id)


@correlated_periodic_task(crontab(minute="*"))
def source_syncs_schedule():
    """Each source's own schedule (a cron line on its connection) is read here every minute."""
    sync_runs_due()


@correlated_periodic_task(crontab(minute="*"))
def import_jobs_requeue_silent_every_minute():
    import_jobs_requeue_silent()


@correlated_periodic_task(local_crontab(minute="10", hour="4"))
def source_pages_purge():
    pages_purge()
