"""The core sync in the background (thin wrappers around the relay, the pulls and the reconciliation).

The relay runs every minute and whenever a transaction writes outbox messages (the kick, folded to
one per second); the pulls every five minutes; the reconciliation once a day, before office hours.
"""

import logging

from huey import crontab

from portal.core.tasks import correlated_periodic_task, correlated_task, local_crontab
from portal.outbox import destinations

from .pulls import policy_changes_pull, statements_pull
from .reconciliation import reconciliation_run
from .relay import relay_pass

logger = logging.getLogger(__name__)


def _enabled():
    return [destination.name for destination in destinations.registered() if destination.is_enabled()]


@correlated_task()
def outbox_relay_kick(*, destination):
    counts = relay_pass(destination=destination)
    logger.info("outbox relayed", extra={"task": "outbox_relay_kick", "destination": destination, **vars(counts)})


@correlated_periodic_task(crontab(minute="*"))
def outbox_relay_every_minute():
    for destination in _enabled():
        counts = relay_pass(destination=destination)
        logger.info("outbox relayed", extra={"task": "outbox_relay", "destination": destination, **vars(counts)})


@correlated_periodic_task(crontab(minute="*/5"))
def core_changes_pull_every_5_minutes():
    for destination in _enabled():
        policies = policy_changes_pull(destination=destination)
        statements = statements_pull(destination=destination)
        logger.info(
            "core changes pulled",
            extra={
                "task": "core_changes_pull",
                "destination": destination,
                "policies": policies,
                "statements": statements,
            },
        )


@correlated_periodic_task(local_crontab(minute="30", hour="6"), retries=2, retry_delay=600)
def core_reconciliation_daily():
    for destination in _enabled():
        run = reconciliation_run(destination=destination)
        logger.info(
            "core reconciliation done",
            extra={
                "task": "core_reconciliation",
                "destination": destination,
                "status": run.status,
                "counts": run.counts,
            },
        )
