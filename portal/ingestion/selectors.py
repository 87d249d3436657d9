from django.db.models import Count, Q, Sum

from .fields import Kind
from .models import ClaimRow, ImportJob, RiskRow, RowError, Source
from .totals import TOTALS


def import_jobs_visible_to(user):
    if user.is_authenticated and user.is_active and user.has_perm("ingestion.view_importjob"):
        return ImportJob.objects.select_related("source", "created_by")
    return ImportJob.objects.none()


def sources_visible_to(user):
    if user.is_authenticated and user.is_active and user.has_perm("ingestion.view_source"):
        return Source.objects.all()
    return Source.objects.none()


def _may_read_rows(user, kind):
    model = RiskRow if kind == Kind.RISK else ClaimRow
    return user.is_authenticated and user.is_active and user.has_perm(f"ingestion.view_{model._meta.model_name}")


def bordereau_rows_visible_to(user, kind):
    model = RiskRow if kind == Kind.RISK else ClaimRow
    return model.objects.select_related("source") if _may_read_rows(user, kind) else model.objects.none()


def row_errors_of(job):
    return RowError.objects.filter(job=job)


def bordereau_totals_visible_to(user, kind):
    """The stored totals of the bordereaux whose rows the user may read (see totals.py)."""
    model, _group, _sums = TOTALS[kind]
    return model.objects.all() if _may_read_rows(user, kind) else model.objects.none()


def bordereau_totals(lines, kind):
    """Totals per currency and class of business (risk) or per currency and status (claims) of the
    bordereaux whose stored totals are `lines`: a sum over a few lines per bordereau."""
    _model, group, sums = TOTALS[kind]
    return list(
        lines.values("currency", group)
        .annotate(rows=Sum("rows"), **{name: Sum(name) for name in sums})
        .order_by("currency", group)
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
