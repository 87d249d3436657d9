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


@transaction.atomic
def audit_record_many(*, actor, action, entries):
    """Append one audit event per (target, metadata) pair in a single INSERT, for bulk actions
    that change many records in one transaction; same fields as `audit_record`."""
    context = current_request_context()
    actor_label = actor.email_primary if actor else ""
    events = []
    for target, metadata in entries:
        target_type, target_id, target_label = _target_fields(target)
        events.append(
            AuditEvent(
                actor=actor,
                actor_label=actor_label,
                action=action,
                target_type=target_type,
                target_id=target_id,
                target_label=target_label,
                metadata=metadata or {},
                correlation_id=context.correlation_id,
                ip_address=context.ip_address,
            )
        )
    return AuditEvent.objects.bulk_create(events, batch_size=2000)
