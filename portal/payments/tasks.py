"""Payments work in the background (thin wrappers around the services). The daily reminders and
lapses run in the policies' sweeps, in business order."""

from portal.core.tasks import correlated_task

from .services import receipt_deliver


# The receipt row is claimed under a lock and marked sent with the email, so a retry never sends it twice.
@correlated_task(retries=3, retry_delay=60)
def receipt_send(*, receipt_id):
    receipt_deliver(receipt_id=receipt_id)
