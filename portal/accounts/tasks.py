"""The accounts' nightly sweep (a thin wrapper around the service)."""

import logging

from portal.core.tasks import correlated_periodic_task, local_crontab

from .services import sign_in_records_purge

logger = logging.getLogger(__name__)


@correlated_periodic_task(local_crontab(minute="30", hour="3"), retries=3, retry_delay=300)
def sign_in_records_sweep():
    challenges, families = sign_in_records_purge()
    logger.info(
        "old sign-in records deleted",
        extra={"task": "sign_in_records_purge", "challenges": challenges, "refresh_families": families},
    )
