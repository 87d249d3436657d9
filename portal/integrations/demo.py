"""Demo data of the core sync: the latest demo policies' issuance messages for CASSE, waiting in the
outbox. `make run` sets no CASSE_API_URL, so sync is off and they stay PENDING: the outbox page shows
what would go to the core, without a core to send it to."""

from django.db import transaction
from django.utils import timezone

from portal.outbox.models import AggregateType, EventType, OutboxMessage
from portal.outbox.services import outbox_publish
from portal.policies.events import policy_snapshot
from portal.policies.models import Policy, PolicyVersion

from . import casse

DEMO_MESSAGES = 8


def seed_demo_outbox():
    # Looked at before any transaction: a second run of the demo costs this one query.
    if OutboxMessage.objects.filter(destination=casse.NAME).exists():
        return 0
    with transaction.atomic():
        return _write_demo_messages()


def _write_demo_messages():
    policies = (
        Policy.objects.filter(current_version__isnull=False)
        .select_related("current_version", "customer", "product", "renewal_of")
        .order_by("-created_at", "-id")[:DEMO_MESSAGES]
    )
    written = 0
    for policy in reversed(list(policies)):
        renewal = policy.current_version.kind == PolicyVersion.Kind.RENEWAL
        written += len(
            outbox_publish(
                event_type=EventType.POLICY_RENEWED if renewal else EventType.POLICY_ISSUED,
                aggregate_type=AggregateType.POLICY,
                aggregate_id=policy.number,
                payload=policy_snapshot(policy, on=timezone.localdate(policy.created_at)),
                to=[casse.NAME],
            )
        )
    return written
