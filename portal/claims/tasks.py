"""Claims work in the background (thin wrappers around the claims services)."""

from huey import crontab

from portal.core.tasks import correlated_periodic_task, correlated_task

from .bulk import bulk_transition_run, bulk_transitions_requeue_silent
from .models import BulkTransitionJob
from .notices import claim_status_emails_send


# The service skips the claims a previous attempt already decided, so a retry finishes the job.
@correlated_task(retries=2, retry_delay=30)
def bulk_transition_process(job_id):
    bulk_transition_run(job=BulkTransitionJob.objects.get(pk=job_id))


# Builds and queues one email per move (each then retried on its own). A retry of this task may queue
# an email of the batch twice: a customer told twice beats one never told.
@correlated_task(retries=2, retry_delay=60)
def claim_status_emails_send_task(transition_ids):
    claim_status_emails_send(transition_ids=transition_ids)


@correlated_periodic_task(crontab(minute="*"))
def bulk_transitions_requeue_silent_every_minute():
    bulk_transitions_requeue_silent()
