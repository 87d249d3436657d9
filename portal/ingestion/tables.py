import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .models import ClaimRow, ImportJob, RiskRow, RowError

STATUS_BADGES = {
    ImportJob.Status.MAPPING: "warning",
    ImportJob.Status.QUEUED: "secondary",
    ImportJob.Status.RUNNING: "primary",
    ImportJob.Status.SUCCEEDED: "success",
    ImportJob.Status.FAILED: "danger",
    ImportJob.Status.CANCELLED: "dark",
}


def status_badge(job):
    return format_html(
        '<span class="badge text-bg-{}" data-testid="job-status">{}</span>',
        STATUS_BADGES[job.status],
        job.get_status_display(),
    )


class ImportJobTable(tables.Table):
    id = tables.LinkColumn("ingestion:job_detail", args=[tables.A("pk")], verbose_name="#")
    source = tables.Column(verbose_name=_("Source"), order_by=("source__name",))
    kind = tables.Column(verbose_name=_("Bordereau"))
    period = tables.Column(verbose_name=_("Period"))
    original_name = tables.Column(verbose_name=_("File"))
    status = tables.Column(verbose_name=_("Status"))
    rows_loaded = tables.Column(verbose_name=_("Loaded"), attrs={"td": {"class": "text-end"}})
    rows_rejected = tables.Column(verbose_name=_("Rejected"), attrs={"td": {"class": "text-end"}})
    created_at = tables.Column(verbose_name=_("Uploaded"))

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "source",
            "kind",
            "period",
            "original_name",
            "status",
            "rows_loaded",
            "rows_rejected",
            "created_at",
        ]
        order_by = "-created_at"

    def render_period(self, value):
        return date_format(value, "YEAR_MONTH_FORMAT")

    def render_status(self, record):
        return status_badge(record)

    def render_created_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")


class RowErrorTable(tables.Table):
    class Meta:
        model = RowError
        fields = ["row_number", "column", "value", "message"]
        order_by = "row_number"


MONEY = {"td": {"class": "text-end"}}


class RiskRowTable(tables.Table):
    class Meta:
        model = RiskRow
        fields = [
            "source",
            "period",
            "umr",
            "certificate_ref",
            "transaction_type",
            "business_type",
            "transaction_date",
            "insured_name",
            "inception_date",
            "expiry_date",
            "country",
            "currency",
            "sum_insured",
            "gross_premium",
            "commission_pct",
            "total_taxes",
            "net_premium",
            "class_of_business",
        ]
        order_by = ("certificate_ref", "umr")


class ClaimRowTable(tables.Table):
    class Meta:
        model = ClaimRow
        fields = [
            "source",
            "period",
            "claim_reference",
            "claim_status",
            "date_of_loss",
            "date_first_advised",
            "cause_of_loss",
            "currency",
            "paid_indemnity",
            "paid_fees",
            "previously_paid",
            "reserve_indemnity",
            "reserve_fees",
            "total_incurred",
        ]
        order_by = "claim_reference"
