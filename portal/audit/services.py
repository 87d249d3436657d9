from django.db import transaction

from portal.core.request_context import current_request_context

from .models import AuditEvent


def _target_fields(target):
    if target is None:
        return "", "", ""
    return target._meta.label_lower, str(target.pk), str(target)[:255]


@transaction.atomic
def audit_record(*, actor, action, target=None, metadata=None, actor_label=None):
    """Append one audit event; call it inside the service transaction that makes the change.

    The correlation id and IP address come from the request being served (or the task being
    run), so services never pass them around.
    """
    context = current_request_context()
    target_type, target_id, target_label = _target_fields(target)
    if actor is not None and actor.pk is None:
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label if actor_label is not None else (actor.email_primary if actor else ""),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        metadata=metadata or {},
        correlation_id=context.correlation_id,
        ip_address=context.ip_address,
    )
