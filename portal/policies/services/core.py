"""What the insurer's core system tells Amparo about a policy: its own reference for it, and status
changes made there (a suspension, a cancellation...), applied here as done by the core."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.payments.services import instalments_cancel_after_lapse

from ..lifecycle import ENDED_BY_CORE, core_status_refusal
from ..models import Policy
from .shared import lock_policy


def policy_core_reference_record(*, policy_number, reference):
    """Keep the core's id for the policy the first time the core acknowledges it (one conditional
    UPDATE: a repeated acknowledgement changes nothing). Returns whether it was recorded now."""
    return bool(
        Policy.objects.filter(number=policy_number, core_reference="").update(core_reference=str(reference)[:64])
    )


@transaction.atomic
def policy_status_from_core(*, policy, status, on, source):
    """Follow a status the core set on its own (`source` names the core in the audit trail, as the one
    who made the change). Cover that ends (cancelled, lapsed) cancels the instalments due after `on`;
    no new version is written (the core keeps its own). Refuses what `core_status_refusal` refuses;
    the same status again changes nothing. Writes nothing back to the core: the change came from it."""
    policy = lock_policy(policy)
    if policy.status == status:
        return policy
    refusal = core_status_refusal(policy, status)
    if refusal:
        raise ValidationError(refusal)
    previous = policy.status
    policy.status = status
    policy.status_changed_at = timezone.now()
    policy.save(update_fields=["status", "status_changed_at"])
    cancelled = []
    if status in ENDED_BY_CORE:
        cancelled = instalments_cancel_after_lapse(policy=policy, actor=None, as_of=on)
    audit_record(
        actor=None,
        actor_label=source,
        action="policy.status_changed_by_core",
        target=policy,
        metadata={"from": previous, "to": status, "on": on.isoformat(), "instalments_cancelled": len(cancelled)},
    )
    return policy
