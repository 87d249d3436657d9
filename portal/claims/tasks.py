"""Claims work in the background (thin wrappers around the claims services)."""

from portal.core.tasks import correlated_task

from .models import BulkTransitionJob
from .services import bulk_transition_run


# The service skips the claims a previous attempt already decided, so a retry finishes the job.
@correlated_task(retries=2, retry_delay=30)
def bulk_transition_process(job_id):
    bulk_transition_run(job=BulkTransitionJob.objects.get(pk=job_id))
