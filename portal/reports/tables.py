import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .catalogue import REPORTS
from .models import ReportRun

STATUS_CLASSES = {
    ReportRun.Status.QUEUED: "text-bg-secondary",
    ReportRun.Status.RUNNING: "text-bg-info",
    ReportRun.Status.SUCCEEDED: "text-bg-success",
    ReportRun.Status.FAILED: "text-bg-danger",
    ReportRun.Status.EXPIRED: "text-bg-light",
}


def status_badge(run):
    return format_html('<span class="badge {}">{}</span>', STATUS_CLASSES[run.status], run.get_status_display())


class ReportRunTable(tables.Table):
    report = tables.Column(verbose_name=_("Report"))
    format = tables.Column(verbose_name=_("Format"))
    status = tables.Column(verbose_name=_("Status"))
    row_count = tables.Column(verbose_name=_("Rows"))
    requested_by = tables.Column(verbose_name=_("Requested by"), accessor="requested_by__full_name")
    requested_at = tables.Column(verbose_name=_("Requested at"), attrs={"td": {"class": "text-nowrap"}})
    parameters = tables.Column(verbose_name=_("Parameters"), orderable=False)

    class Meta:
        model = ReportRun
        fields = ["report", "format", "status", "row_count", "requested_by", "requested_at", "parameters"]
        order_by = "-requested_at"

    def render_report(self, record):
        report = REPORTS.get(record.report)
        return format_html(
            '<a href="{}">{}</a>',
            reverse("reports:run_detail", args=[record.pk]),
            report.title if report else record.report,
        )

    def render_format(self, value):
        return value.upper()

    def render_status(self, record):
        return status_badge(record)

    def render_requested_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")

    def render_parameters(self, value):
        return " · ".join(f"{name}={text}" for name, text in value.items()) or "—"
