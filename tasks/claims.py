"""Bulk claim actions too large for one request (thin wrapper around the claims service)."""

from portal.claims.models import BulkTransitionJob
from portal.claims.services import bulk_transition_run

from .tracing import correlated_task


# The service skips the claims a previous attempt already decided, so a retry finishes the job.
@correlated_task(retries=2, retry_delay=30)
def bulk_transition_process(job_id):
    bulk_transition_run(job=BulkTransitionJob.objects.get(pk=job_id))
