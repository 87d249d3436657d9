from django.db.models import Count, Q, Sum

from .fields import Kind
from .models import ClaimRow, ImportJob, RiskRow, RowError, Source


def import_jobs_visible_to(user):
    if user.is_authenticated and user.is_active and user.has_perm("ingestion.view_importjob"):
        return ImportJob.objects.select_related("source", "created_by")
    return ImportJob.objects.none()


def sources_visible_to(user):
    if user.is_authenticated and user.is_active and user.has_perm("ingestion.view_source"):
        return Source.objects.all()
    return Source.objects.none()


def bordereau_rows_visible_to(user, kind):
    model = RiskRow if kind == Kind.RISK else ClaimRow
    if user.is_authenticated and user.is_active and user.has_perm(f"ingestion.view_{model._meta.model_name}"):
        return model.objects.select_related("source")
    return model.objects.none()


def row_errors_of(job):
    return RowError.objects.filter(job=job)


def bordereau_totals(rows, kind):
    """Totals per currency and class of business (risk) or per currency and status (claims)."""
    if kind == Kind.RISK:
        return list(
            rows.values("currency", "class_of_business")
            .annotate(
                rows=Count("id"),
                sum_insured=Sum("sum_insured"),
                gross_premium=Sum("gross_premium"),
                net_premium=Sum("net_premium"),
            )
            .order_by("currency", "class_of_business")
        )
    return list(
        rows.values("currency", "claim_status")
        .annotate(
            rows=Count("id"),
            paid=Sum("paid_indemnity") + Sum("paid_fees"),
            reserves=Sum("reserve_indemnity") + Sum("reserve_fees"),
            total_incurred=Sum("total_incurred"),
        )
        .order_by("currency", "claim_status")
    )


def import_figures(user):
    jobs = import_jobs_visible_to(user)
    return jobs.aggregate(
        running=Count("id", filter=Q(status__in=ImportJob.ACTIVE)),
        needs_mapping=Count("id", filter=Q(status=ImportJob.Status.MAPPING)),
        failed=Count("id", filter=Q(status=ImportJob.Status.FAILED)),
        rows_loaded=Sum("rows_loaded"),
        rows_rejected=Sum("rows_rejected"),
    )
