from datetime import datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from portal.accounts.selectors import book_scope_q

from .models import BulkTransitionJob, Claim, ClaimDocument, ClaimTransition, RejectionReason

CUSTOMER_AGENT = "customer__agent"


def claims_visible_to(user):
    """Claims on the customers in `user`'s book (the customer's agent owns their claims)."""
    return Claim.objects.filter(book_scope_q(user, agent_field=CUSTOMER_AGENT)).select_related(
        "policy", "policy__product", "customer", "customer__agent", "assignee", "filed_by"
    )


def claim_timeline(claim):
    return (
        ClaimTransition.objects.filter(claim=claim)
        .select_related("actor", "rejection_reason")
        .order_by("created_at", "id")
    )


def claim_documents(claim):
    return ClaimDocument.objects.filter(claim=claim).select_related("uploaded_by").order_by("uploaded_at", "id")


def active_rejection_reasons():
    return RejectionReason.objects.filter(is_active=True)


def bulk_jobs_of(user):
    return BulkTransitionJob.objects.filter(actor=user)


AGEING_BUCKETS = [(0, 7), (8, 30), (31, 90), (91, None)]

STATUS_COLOURS = {
    Claim.Status.PENDING: "#0dcaf0",
    Claim.Status.UNDER_REVIEW: "#ffc107",
    Claim.Status.APPROVED: "#198754",
    Claim.Status.REJECTED: "#dc3545",
    Claim.Status.PAID: "#0d6efd",
    Claim.Status.CLOSED: "#6c757d",
}


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def claim_figures(user, *, today=None):
    """The dashboard's claims card: counts by status (with a chart), ageing of open claims, approved this month."""
    today = today or timezone.localdate()
    claims = claims_visible_to(user).order_by()
    now = timezone.now()
    ageing = {}
    for low, high in AGEING_BUCKETS:
        window = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            window &= Q(created_at__gt=now - timedelta(days=high + 1))
        label = f"{low}-{high}" if high is not None else f"{low}+"
        ageing[label] = Count("id", filter=window & Q(status__in=Claim.OPEN))
    counts = claims.aggregate(
        **{status.lower(): Count("id", filter=Q(status=status)) for status in Claim.Status.values}, **ageing
    )
    # A range on the timestamp itself (no cast to a date), scoped through the claim's customer like
    # the claims above: one grouped query over this month's approvals only.
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    approved = (
        ClaimTransition.objects.filter(
            book_scope_q(user, agent_field=f"claim__{CUSTOMER_AGENT}"),
            action="approve",
            created_at__gte=_start_of(month_start),
            created_at__lt=_start_of(next_month),
        )
        .values("claim__currency")
        .annotate(total=Sum("amount"))
        .order_by("claim__currency")
    )
    return {
        "by_status": [(status, label, counts[status.lower()]) for status, label in Claim.Status.choices],
        "ageing": [(label, counts[label]) for label in ageing],
        "open": sum(counts[status.lower()] for status in Claim.OPEN),
        "approved_this_month": [(row["claim__currency"], row["total"]) for row in approved],
        "chart": {
            "labels": [str(label) for label in Claim.Status.labels],
            "values": [counts[status.lower()] for status in Claim.Status.values],
            "colors": [STATUS_COLOURS[status] for status in Claim.Status.values],
        },
    }
