"""Gateway work in the background (thin wrappers around the services).

Here rather than in the top-level tasks package so that `run_huey`, which imports every installed
app's `tasks` module, registers them with no list to keep in step.
"""

import logging

from huey import crontab

from portal.core.tasks import correlated_periodic_task, correlated_task

from .apply import webhook_event_process, webhook_events_process_pending

logger = logging.getLogger(__name__)


@correlated_task(retries=3, retry_delay=30)
def webhook_event_process_task(*, webhook_event_id):
    webhook_event_process(webhook_event_id=webhook_event_id)


# An event whose task was lost (the queue was down when it arrived) is applied within minutes.
@correlated_periodic_task(crontab(minute="*/5"), retries=1, retry_delay=60)
def webhook_events_process_pending_every_5_minutes():
    looked_at = webhook_events_process_pending()
    logger.info("pending gateway events applied", extra={"task": "webhook_events_process_pending", "events": looked_at})
