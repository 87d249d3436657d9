import json
from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal.accounts.models import Role

from .actions import action_label
from .models import AuditEvent

CSV_HEADER = [
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "ip_address",
    "correlation_id",
    "details",
]


def audit_events_visible_to(user):
    if user.is_authenticated and user.is_active and user.role in {Role.ADMIN, Role.INTERVENTORIA}:
        return AuditEvent.objects.all()
    return AuditEvent.objects.none()


def audit_events_csv_rows(events):
    """The rows of the CSV export, read from the database in chunks."""
    for event in events.order_by("-occurred_at", "-id").iterator(chunk_size=2000):
        yield (
            event.occurred_at.isoformat(),
            event.actor_label,
            event.action,
            event.target_type,
            event.target_id,
            event.target_label,
            event.ip_address,
            event.correlation_id,
            json.dumps(event.metadata, ensure_ascii=False, sort_keys=True),
        )


def audit_activity_by_day(*, days=14, actions=("auth.sign_in", "auth.sign_in_failed")):
    """Counts per day and action over the last `days` days (local dates), zero-filled."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        AuditEvent.objects.filter(occurred_at__date__gte=start, action__in=actions)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "action")
        .annotate(total=Count("id"))
    )
    counts = {(row["day"], row["action"]): row["total"] for row in rows}
    labels = [start + timedelta(days=offset) for offset in range(days)]
    return {
        "labels": [day.isoformat() for day in labels],
        "series": [
            {"action": action, "label": str(action_label(action)), "data": [counts.get((d, action), 0) for d in labels]}
            for action in actions
        ],
    }


def audit_counts_since(since):
    events = AuditEvent.objects.filter(occurred_at__gte=since)
    return events.aggregate(
        total=Count("id"),
        sign_ins=Count("id", filter=Q(action="auth.sign_in")),
        failed_sign_ins=Count("id", filter=Q(action="auth.sign_in_failed")),
        lockouts=Count("id", filter=Q(action="auth.locked_out")),
        role_changes=Count("id", filter=Q(action="user.role_changed")),
        suspensions=Count("id", filter=Q(action="user.suspended")),
    )


def audit_top_actions_since(since, *, limit=8):
    rows = (
        AuditEvent.objects.filter(occurred_at__gte=since)
        .values("action")
        .annotate(total=Count("id"))
        .order_by("-total")[:limit]
    )
    return [{"action": row["action"], "label": action_label(row["action"]), "total": row["total"]} for row in rows]


def recent_events_about(user, *, limit=10):
    return AuditEvent.objects.filter(Q(actor=user) | Q(target_type="accounts.user", target_id=str(user.pk)))[:limit]
