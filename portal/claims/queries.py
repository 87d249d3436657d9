"""Reads the claims pages need beyond portal.claims.selectors, scoped the same way."""

from .models import BulkTransitionResult
from .selectors import bulk_jobs_of, claim_figures, claims_visible_to


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


def bulk_job_of(user, pk):
    """One of the user's own bulk actions, or None."""
    return bulk_jobs_of(user).select_related("actor", "rejection_reason").filter(pk=pk).first()


def bulk_results_of(job, *, outcome=None):
    results = BulkTransitionResult.objects.filter(job=job).select_related("claim").order_by("id")
    return results.filter(outcome=outcome) if outcome else results


def bounded_count(queryset, bound):
    """How many rows `queryset` has, counting at most `bound` + 1 of them (never a COUNT over a million)."""
    return queryset.order_by()[: bound + 1].count()


def claim_card_figures(user):
    """The dashboard's claims card: claim_figures, with the total that decides its empty state."""
    figures = claim_figures(user)
    return {**figures, "total": sum(count for _status, _label, count in figures["by_status"])}
