"""A relay worker holds its batch for OUTBOX_LEASE_SECONDS; if sending the whole batch can take longer,
another worker may send its last messages a second time (harmless, same idempotency key, but wasted)."""

from django.conf import settings
from django.core import checks


def lease_outlasts_a_batch(app_configs, **kwargs):
    slowest_send = settings.CASSE_CONNECT_TIMEOUT_SECONDS + settings.CASSE_READ_TIMEOUT_SECONDS
    lease, slowest_batch = settings.OUTBOX_LEASE_SECONDS, settings.OUTBOX_BATCH_SIZE * slowest_send
    if lease >= slowest_batch:
        return []
    return [
        checks.Warning(
            f"OUTBOX_LEASE_SECONDS ({settings.OUTBOX_LEASE_SECONDS}) is shorter than a batch of "
            f"OUTBOX_BATCH_SIZE ({settings.OUTBOX_BATCH_SIZE}) requests at their timeouts ({slowest_send:g} s each).",
            hint="Raise OUTBOX_LEASE_SECONDS or lower OUTBOX_BATCH_SIZE, so that a slow batch is not sent twice.",
            id="integrations.W001",
        )
    ]
