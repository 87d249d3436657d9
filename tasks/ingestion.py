from portal.ingestion.services import import_job_run

from .tracing import correlated_task


@correlated_task()
def import_job_process(job_id):
    import_job_run(job_id=job_id)
