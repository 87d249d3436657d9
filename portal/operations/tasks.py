import logging

from django.conf import settings
from django.db import connection

from portal.core.tasks import correlated_periodic_task, local_crontab

from .backups import backup_create

logger = logging.getLogger(__name__)


@correlated_periodic_task(local_crontab(hour=settings.AMPARO_BACKUP_HOUR, minute="30"))
def backup_nightly():
    """The nightly backup, when AMPARO_BACKUP_NIGHTLY is on (cron can run `manage.py backup` instead)."""
    if not settings.AMPARO_BACKUP_NIGHTLY or connection.vendor != "postgresql":
        return None
    return backup_create().pk
