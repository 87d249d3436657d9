"""Bordereau imports in the background (a thin wrapper around the import runner)."""

from portal.core.tasks import correlated_task

from .runner import import_job_run


@correlated_task()
def import_job_process(job_id):
    import_job_run(job_id=job_id)
