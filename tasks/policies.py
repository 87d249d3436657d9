"""Periodic policy work: status by date, quote expiry, renewal reminders (thin wrappers around services).

The times are the portal's local time (settings.TIME_ZONE, America/Bogota), whatever clock huey keeps.
"""

import logging
from datetime import UTC

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY

from portal.policies.services import policies_follow_dates, quotes_expire_overdue, renewal_reminders_send

from .tracing import correlated_periodic_task

logger = logging.getLogger(__name__)


def local_crontab(**fields):
    """A huey crontab read in the portal's time zone. Huey hands periodic tasks a naive timestamp
    in UTC (its default) or in the process's local time; a plain crontab would read it as is."""
    matches = crontab(**fields)

    def validate_datetime(timestamp):
        if HUEY.utc:
            timestamp = timezone.localtime(timestamp.replace(tzinfo=UTC)).replace(tzinfo=None)
        return matches(timestamp)

    return validate_datetime


# The services are idempotent and catch up on what a missed night left behind, so a retry is safe.
@correlated_periodic_task(local_crontab(minute="5", hour="0"), retries=3, retry_delay=300)
def policies_follow_dates_daily():
    changes = policies_follow_dates()
    logger.info(
        "policies followed their dates",
        extra={"task": "policies_follow_dates", "changes": changes, "changed": sum(changes.values())},
    )


@correlated_periodic_task(local_crontab(minute="10", hour="0"), retries=3, retry_delay=300)
def quotes_expire_overdue_daily():
    expired = quotes_expire_overdue()
    logger.info("overdue quotes expired", extra={"task": "quotes_expire_overdue", "expired": expired})


@correlated_periodic_task(local_crontab(minute="0", hour="8"), retries=3, retry_delay=300)
def renewal_reminders_send_daily():
    sent = renewal_reminders_send()
    logger.info("renewal reminders sent", extra={"task": "renewal_reminders_send", "sent": sent})
