"""Payment work in the background: receipts by email, overdue reminders and lapses (thin wrappers around services).

The times are the portal's local time (settings.TIME_ZONE, America/Bogota), whatever clock huey keeps.
"""

import logging

from portal.payments.services import instalment_reminders_send, policies_lapse_overdue, receipt_deliver

from .policies import local_crontab
from .tracing import correlated_periodic_task, correlated_task

logger = logging.getLogger(__name__)


# The receipt row is claimed under a lock and marked sent with the email, so a retry never sends it twice.
@correlated_task(retries=3, retry_delay=60)
def receipt_send(*, receipt_id):
    receipt_deliver(receipt_id=receipt_id)


# Lapses first: a policy that lapses today is not reminded of the instalment it lapsed for.
@correlated_periodic_task(local_crontab(minute="20", hour="0"), retries=3, retry_delay=300)
def policies_lapse_overdue_daily():
    lapsed = policies_lapse_overdue()
    logger.info("overdue policies lapsed", extra={"task": "policies_lapse_overdue", "lapsed": lapsed})


@correlated_periodic_task(local_crontab(minute="30", hour="8"), retries=3, retry_delay=300)
def instalment_reminders_send_daily():
    sent = instalment_reminders_send()
    logger.info("overdue reminders sent", extra={"task": "instalment_reminders_send", "sent": sent})
