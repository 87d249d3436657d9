import logging

from django.db import connection
from huey.contrib.djhuey import HUEY

logger = logging.getLogger(__name__)


def database_is_up():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unreachable")
        return False


def queue_is_up(huey=None):
    """Ask the queue's storage for its length: that needs a working connection to it."""
    try:
        (huey or HUEY).storage.queue_size()
        return True
    except Exception:
        logger.exception("health check: task queue unreachable")
        return False
