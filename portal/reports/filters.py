import django_filters
from django.utils.translation import gettext_lazy as _

from .catalogue import REPORTS
from .models import ReportFormat, ReportRun


def report_choices():
    return [(name, report.title) for name, report in REPORTS.items()]


class ReportRunFilter(django_filters.FilterSet):
    quick_fields = ("report", "status")
    report = django_filters.ChoiceFilter(label=_("Report"), choices=report_choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ReportRun.Status.choices)
    format = django_filters.ChoiceFilter(label=_("Format"), choices=ReportFormat.choices)
    requested = django_filters.DateFromToRangeFilter(
        label=_("Requested"),
        field_name="requested_at__date",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = ReportRun
        fields = ["report", "status", "format", "requested"]
