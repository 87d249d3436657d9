"""What follows the calendar: policies start, expire and lapse on their dates, each in a short
transaction of its own so a long run never blocks the portal."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.dates import business_date
from portal.outbox.models import EventType
from portal.payments.models import Instalment
from portal.payments.selectors import lapse_grace_days

from ..events import policy_event_publish
from ..lifecycle import LAPSABLE, status_on
from ..models import Policy, PolicyVersion
from .changes import policy_lapse


def policies_follow_dates(*, today=None):
    """Daily: pending policies start, finished ones expire, scheduled cancellations take effect.

    Each policy changes in its own short transaction (a lock on that row only), so a long run
    never blocks the portal; returns {status: count} of the changes made.
    """
    today = business_date(today)
    live = [Policy.Status.PENDING, Policy.Status.ACTIVE, Policy.Status.SUSPENDED]
    due = (
        Policy.objects.filter(
            Q(status=Policy.Status.PENDING, current_version__start_date__lte=today)
            | Q(status__in=live, current_version__end_date__lte=today)
            | Q(
                status__in=live,
                current_version__kind=PolicyVersion.Kind.CANCELLATION,
                current_version__effective_date__lte=today,
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changes = {}
    for pk in due.iterator(chunk_size=2000):
        with transaction.atomic():
            policy = Policy.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=pk)
            status = status_on(policy.current_version, today=today)
            if policy.status == Policy.Status.SUSPENDED and status == Policy.Status.ACTIVE:
                continue
            if status == policy.status:
                continue
            previous = policy.status
            policy.status = status
            policy.status_changed_at = timezone.now()
            policy.save(update_fields=["status", "status_changed_at"])
            policy_event_publish(policy, event_type=EventType.POLICY_STATUS_CHANGED, on=today)
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="policy.status_changed",
                target=policy,
                metadata={"from": previous, "to": status, "on": today.isoformat()},
            )
            changes[status] = changes.get(status, 0) + 1
    return changes


def policies_lapse_overdue(*, today=None):
    """Daily: policies with an instalment unpaid past the grace period lapse (through `policy_lapse`),
    each in its own short transaction. Returns how many lapsed."""
    today = business_date(today)
    cutoff = today - timedelta(days=lapse_grace_days())
    overdue = Instalment.objects.filter(policy=OuterRef("pk"), status=Instalment.Status.OPEN, due_date__lt=cutoff)
    due = Policy.objects.filter(Exists(overdue), status__in=LAPSABLE).order_by("pk").values_list("pk", flat=True)
    lapsed = 0
    for pk in due.iterator(chunk_size=2000):
        try:
            policy_lapse(policy=Policy.objects.get(pk=pk), actor=None, as_of=today)
        except ValidationError:
            continue
        lapsed += 1
    return lapsed
