import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from portal.core.money import CURRENCIES
from portal.customers.selectors import normalized_id_number

from .models import ClaimPayout, LedgerAccount, Payment

DATE_RANGE = DateRangeWidget(attrs={"type": "date"})


def _customer_q(prefix, value):
    value = value.strip()
    return Q(**{f"{prefix}full_name__icontains": value}) | Q(
        **{f"{prefix}id_number__startswith": normalized_id_number(value)}
    )


class PaymentFilter(django_filters.FilterSet):
    search_field = "customer"
    quick_fields = ("status", "method", "received")
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")
    reference = django_filters.CharFilter(label=_("Reference"), lookup_expr="istartswith")
    method = django_filters.ChoiceFilter(label=_("Method"), choices=Payment.Method.choices)
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=Payment.Direction.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Payment.Status.choices)
    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=CURRENCIES)
    received = django_filters.DateFromToRangeFilter(
        label=_("Date between"), field_name="received_on", widget=DATE_RANGE
    )

    class Meta:
        model = Payment
        fields = ["customer", "reference", "method", "direction", "status", "currency", "received"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(_customer_q("account__customer__", value))


class AccountFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")
    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=CURRENCIES)
    overdue = django_filters.BooleanFilter(label=_("With overdue instalments"), method="filter_overdue")

    class Meta:
        model = LedgerAccount
        fields = ["customer", "currency", "overdue"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(_customer_q("customer__", value))

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue_count__gt=0) if value else queryset.filter(overdue_count=0)


class PayoutFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ClaimPayout.Status.choices)
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")

    class Meta:
        model = ClaimPayout
        fields = ["status", "customer"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(_customer_q("account__customer__", value))
