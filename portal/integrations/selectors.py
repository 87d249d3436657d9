"""Reads of the core sync for the portal and the API: the outbox and its attempts, each destination's
state, the core's statement lines of a customer, and the reconciliations."""

from django.db.models import Count, Q

from portal.accounts.models import Role
from portal.accounts.selectors import book_scope_q
from portal.audit.models import AuditEvent
from portal.outbox import destinations
from portal.outbox.models import OutboxMessage

from .models import DestinationBreaker, ReconciliationRun, StatementLine


def outbox_messages_visible_to(user):
    """Every message for those who may see the outbox (administrators, Interventoría), none otherwise."""
    if not user.is_authenticated or not user.has_perm("outbox.view_outboxmessage"):
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.all()


def dead_outbox_messages(user):
    """The dead messages `user` sees: each holds its policy's later messages back until retried or skipped."""
    return outbox_messages_visible_to(user).filter(state=OutboxMessage.State.DEAD)


def attempts_of(message):
    """The exchanges that delivered (or tried to deliver) `message`, first first."""
    return message.exchanges.order_by("started_at", "id")


def audit_trail_of(message):
    """Who retried or skipped `message`, with their notes."""
    return AuditEvent.objects.filter(target_type=message._meta.label_lower, target_id=str(message.pk)).order_by(
        "occurred_at"
    )


def destination_states():
    """Per registered destination: configured or not, its breaker, and how many messages wait or are dead
    (counted over the open and dead messages only, never the acknowledged millions)."""
    breakers = {breaker.destination: breaker for breaker in DestinationBreaker.objects.all()}
    counts = {
        row["destination"]: row
        for row in OutboxMessage.objects.filter(state__in=[*OutboxMessage.OPEN, OutboxMessage.State.DEAD])
        .values("destination")
        .annotate(
            pending=Count("id", filter=Q(state=OutboxMessage.State.PENDING)),
            sent=Count("id", filter=Q(state=OutboxMessage.State.SENT)),
            dead=Count("id", filter=Q(state=OutboxMessage.State.DEAD)),
        )
    }
    return [
        {
            "name": destination.name,
            "label": destination.label,
            "enabled": destination.is_enabled(),
            "breaker": breakers.get(destination.name),
            "pending": counts.get(destination.name, {}).get("pending", 0),
            "sent": counts.get(destination.name, {}).get("sent", 0),
            "dead": counts.get(destination.name, {}).get("dead", 0),
        }
        for destination in destinations.registered()
    ]


def core_statement_lines_visible_to(user):
    """The core's statement lines of the customers `user` may see: their book for staff, their own for a
    customer signed in to the app (the mobile API's statement shows them as "from the insurer's core")."""
    lines = StatementLine.objects.all()
    if user.is_authenticated and user.is_active and user.role == Role.CLIENT:
        return lines.filter(customer__user=user)
    return lines.filter(book_scope_q(user, agent_field="customer__agent"))


def core_statement_of(user, customer, *, limit=20):
    """The latest core statement lines of `customer` that `user` may see, newest first."""
    return core_statement_lines_visible_to(user).filter(customer=customer).order_by("-posted_on", "-id")[:limit]


def reconciliation_runs_visible_to(user):
    if not user.is_authenticated or not user.has_perm("integrations.view_reconciliationrun"):
        return ReconciliationRun.objects.none()
    return ReconciliationRun.objects.all()


def differences_of(run, *, kind=""):
    differences = run.differences.all()
    return differences.filter(kind=kind) if kind else differences
