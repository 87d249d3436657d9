"""The book's daily sweeps, in business order (thin wrappers around the services).

At night, while nobody works: policies follow their dates (start, expire, scheduled cancellations),
overdue quotes expire, then policies unpaid past the grace period lapse. In the morning, once the
night has settled who is still covered: renewal reminders, then overdue-instalment reminders, so
customers are emailed in office hours. The times are the portal's local time (settings.TIME_ZONE,
America/Bogota), whatever clock huey keeps. Every service is idempotent and catches up on what a
missed night left behind, so a retry is safe.
"""

import logging

from portal.core.dates import business_date
from portal.core.tasks import correlated_periodic_task, local_crontab
from portal.payments.services import instalment_reminders_send

from .services import policies_follow_dates, policies_lapse_overdue, quotes_expire_overdue, renewal_reminders_send

logger = logging.getLogger(__name__)


@correlated_periodic_task(local_crontab(minute="5", hour="0"), retries=3, retry_delay=300)
def nightly_sweeps():
    today = business_date()
    changes = policies_follow_dates(today=today)
    logger.info(
        "policies followed their dates",
        extra={"task": "policies_follow_dates", "changes": changes, "changed": sum(changes.values())},
    )
    expired = quotes_expire_overdue(today=today)
    logger.info("overdue quotes expired", extra={"task": "quotes_expire_overdue", "expired": expired})
    lapsed = policies_lapse_overdue(today=today)
    logger.info("overdue policies lapsed", extra={"task": "policies_lapse_overdue", "lapsed": lapsed})


@correlated_periodic_task(local_crontab(minute="0", hour="8"), retries=3, retry_delay=300)
def morning_reminders():
    today = business_date()
    sent = renewal_reminders_send(today=today)
    logger.info("renewal reminders sent", extra={"task": "renewal_reminders_send", "sent": sent})
    sent = instalment_reminders_send(today=today)
    logger.info("overdue reminders sent", extra={"task": "instalment_reminders_send", "sent": sent})
