import django_filters
from django.utils.translation import gettext_lazy as _

from .fields import Kind
from .models import ClaimRow, ImportJob, RiskRow, RowError, Source


class ImportJobFilter(django_filters.FilterSet):
    source = django_filters.ModelChoiceFilter(label=_("Source"), queryset=Source.objects.all())
    kind = django_filters.ChoiceFilter(label=_("Bordereau"), choices=Kind.CHOICES)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ImportJob.Status.choices)

    class Meta:
        model = ImportJob
        fields = ["source", "kind", "status"]


class RowErrorFilter(django_filters.FilterSet):
    column = django_filters.CharFilter(label=_("Column"), lookup_expr="icontains")
    message = django_filters.CharFilter(label=_("Message"), lookup_expr="icontains")

    class Meta:
        model = RowError
        fields = ["column", "message"]


class _RowFilter(django_filters.FilterSet):
    source = django_filters.ModelChoiceFilter(label=_("Source"), queryset=Source.objects.all())
    period = django_filters.CharFilter(
        label=_("Period"),
        method="filter_period",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "month"}),
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")

    def filter_period(self, queryset, name, value):
        try:
            year, month = (int(part) for part in value.split("-")[:2])
        except ValueError:
            return queryset.none()
        return queryset.filter(period__year=year, period__month=month)


class RiskRowFilter(_RowFilter):
    umr = django_filters.CharFilter(label="UMR", lookup_expr="icontains")
    class_of_business = django_filters.CharFilter(label=_("Class of business"), lookup_expr="icontains")

    class Meta:
        model = RiskRow
        fields = ["source", "period", "currency", "umr", "class_of_business"]


class ClaimRowFilter(_RowFilter):
    claim_reference = django_filters.CharFilter(label=_("Claim reference"), lookup_expr="icontains")
    claim_status = django_filters.CharFilter(label=_("Claim status"), lookup_expr="iexact")

    class Meta:
        model = ClaimRow
        fields = ["source", "period", "currency", "claim_reference", "claim_status"]
