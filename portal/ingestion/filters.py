from datetime import date

import django_filters
from django.utils.translation import gettext_lazy as _

from .fields import STANDARD_TRANSACTION_TYPES, Kind
from .models import ClaimRow, ClaimTotal, ImportJob, RiskRow, RiskTotal, RowError, Source


class ImportJobFilter(django_filters.FilterSet):
    quick_fields = ("source", "kind", "status")
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


class _BordereauFilter(django_filters.FilterSet):
    """What picks whole bordereaux, or lines of their totals: rows and totals alike filter by it."""

    source = django_filters.ModelChoiceFilter(label=_("Source"), queryset=Source.objects.all())
    period = django_filters.CharFilter(
        label=_("Period"),
        method="filter_period",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "month"}),
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")

    def filter_period(self, queryset, name, value):
        # A period is the first day of its month: equality lets PostgreSQL read that month's partitions only.
        try:
            year, month = (int(part) for part in value.split("-")[:2])
            return queryset.filter(period=date(year, month, 1))
        except ValueError:
            return queryset.none()


class RiskTotalFilter(_BordereauFilter):
    class_of_business = django_filters.CharFilter(label=_("Class of business"), lookup_expr="icontains")

    class Meta:
        model = RiskTotal
        fields = ["source", "period", "currency", "class_of_business"]


class ClaimTotalFilter(_BordereauFilter):
    claim_status = django_filters.CharFilter(label=_("Claim status"), lookup_expr="iexact")

    class Meta:
        model = ClaimTotal
        fields = ["source", "period", "currency", "claim_status"]


class RiskRowFilter(RiskTotalFilter):
    umr = django_filters.CharFilter(label="UMR", lookup_expr="icontains")
    transaction_type = django_filters.ChoiceFilter(
        label=_("Transaction type"), choices=[(value, value) for value in STANDARD_TRANSACTION_TYPES]
    )
    # Pick rows within a bordereau, which its totals cannot follow.
    row_only = ("umr", "transaction_type")

    class Meta:
        model = RiskRow
        fields = ["source", "period", "currency", "umr", "class_of_business", "transaction_type"]


class ClaimRowFilter(ClaimTotalFilter):
    claim_reference = django_filters.CharFilter(label=_("Claim reference"), lookup_expr="icontains")
    row_only = ("claim_reference",)

    class Meta:
        model = ClaimRow
        fields = ["source", "period", "currency", "claim_reference", "claim_status"]
