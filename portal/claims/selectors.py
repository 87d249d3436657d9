from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from portal.accounts.selectors import book_scope_q
from portal.core.translated import translated_columns

from . import workflow
from .models import BulkTransitionJob, BulkTransitionResult, Claim, ClaimDocument, ClaimTransition, RejectionReason

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


def claims_for_queue(user):
    """The claims `user` sees, reading only what a work-queue row shows: a row of the million is cheap."""
    return (
        claims_visible_to(user)
        .select_related(None)
        .select_related("policy__product", "customer__agent", "assignee")
        .only(
            "number",
            "status",
            "currency",
            "claimed_amount",
            "approved_amount",
            "loss_date",
            "coverage_name",
            "created_at",
            "policy__number",
            "policy__product__name",
            *translated_columns("policy__product__name"),
            "customer__full_name",
            "customer__agent__full_name",
            "assignee__full_name",
        )
    )


def claims_for_page(user):
    """The claims `user` sees, with everything the claim page shows about each in the same row."""
    return claims_visible_to(user).select_related(
        "policy__current_version", "policy_version", "reviewed_by", "decided_by", "rejection_reason"
    )


def claims_of_policy(user, policy):
    return claims_visible_to(user).filter(policy=policy).order_by("-created_at", "-id")


def claims_of_customer(user, customer):
    return claims_visible_to(user).filter(customer=customer).order_by("-created_at", "-id")


def claims_for_app(user):
    """The claims `user` sees (a customer: their own), reading what the app shows of each: newest first."""
    return (
        claims_visible_to(user)
        .select_related(None)
        .select_related("policy__product", "rejection_reason")
        .order_by("-created_at", "-id")
    )


def bulk_job_of(user, pk):
    """One of the user's own bulk actions, or None."""
    return bulk_jobs_of(user).select_related("actor", "rejection_reason").filter(pk=pk).first()


def bulk_results_of(job, *, outcome=None):
    results = BulkTransitionResult.objects.filter(job=job).select_related("claim").order_by("id")
    return results.filter(outcome=outcome) if outcome else results


def claim_card_figures(user):
    """The dashboard's claims card: claim_figures, with the total that decides its empty state."""
    figures = claim_figures(user)
    return {**figures, "total": sum(count for _status, _label, count in figures["by_status"])}


def claims_to_decide(user):
    """Claims under review that `user` may approve or reject: none for a role that does not decide, and
    never one they filed or reviewed themselves (four eyes)."""
    if user.role not in workflow.TRANSITIONS["approve"].roles:
        return Claim.objects.none()
    return (
        claims_visible_to(user)
        .filter(status=Claim.Status.UNDER_REVIEW)
        .exclude(filed_by=user)
        .exclude(reviewed_by=user)
    )


def bulk_claim_ids(user, *, chosen=None, matching=None):
    """(the ids a bulk action by `user` takes, how many chosen ones are outside their scope).

    Either the `chosen` ids (those outside `user`'s scope left out and counted) or every claim of
    `matching` (a queryset already built on claims visible to `user`, such as the work queue's
    filter). ValidationError when none can be taken or more than workflow.BULK_MAX would be.
    """
    if matching is not None:
        ids = list(matching.order_by().values_list("pk", flat=True)[: workflow.BULK_MAX + 1])
        left_out = 0
    else:
        chosen = list(chosen or [])[: workflow.BULK_MAX + 1]
        ids = list(claims_visible_to(user).order_by().filter(pk__in=chosen).values_list("pk", flat=True))
        left_out = len(set(chosen)) - len(ids)
    if len(ids) > workflow.BULK_MAX:
        raise ValidationError(
            _("A bulk action takes at most %(max)s claims at a time; narrow the filter.")
            % {"max": number_format(workflow.BULK_MAX, force_grouping=True)}
        )
    if not ids:
        raise ValidationError(_("None of the chosen claims is in your book."))
    return sorted(ids), left_out
