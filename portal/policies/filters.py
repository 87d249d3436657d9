import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from portal.accounts.models import User
from portal.customers.selectors import agents_with_customers_visible_to, normalized_id_number

from .models import Policy, Product, Quote

DATE_RANGE = DateRangeWidget(attrs={"type": "date"})


def agents_in_book(request):
    """The agents whose customers the user sees: the only ones worth filtering by."""
    if request is None:
        return User.objects.none()
    return agents_with_customers_visible_to(request.user)


class PolicyFilter(django_filters.FilterSet):
    search_field = "number"
    quick_fields = {"default": ("status", "product", "agent"), "AGENT": ("status", "product", "ends")}
    # Prefix matches (what people type) use the pattern indexes; a contains match would scan the book.
    number = django_filters.CharFilter(label=_("Policy number"), method="filter_number")
    customer = django_filters.CharFilter(label=_("Customer"), field_name="customer__full_name", lookup_expr="icontains")
    id_number = django_filters.CharFilter(label=_("ID number"), method="filter_id_number")
    product = django_filters.ModelChoiceFilter(label=_("Product"), queryset=Product.objects.order_by("name"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Policy.Status.choices)
    agent = django_filters.ModelChoiceFilter(label=_("Agent"), field_name="customer__agent", queryset=agents_in_book)
    starts = django_filters.DateFromToRangeFilter(
        label=_("Cover starts between"), field_name="current_version__start_date", widget=DATE_RANGE
    )
    ends = django_filters.DateFromToRangeFilter(
        label=_("Cover ends between"), field_name="current_version__end_date", widget=DATE_RANGE
    )

    class Meta:
        model = Policy
        fields = ["number", "customer", "id_number", "product", "status", "agent", "starts", "ends"]

    def filter_number(self, queryset, name, value):
        return queryset.filter(number__startswith=value.strip().upper())

    def filter_id_number(self, queryset, name, value):
        return queryset.filter(customer__id_number__startswith=normalized_id_number(value))


class QuoteFilter(django_filters.FilterSet):
    search_field = "customer"
    quick_fields = ("status", "product")
    number = django_filters.CharFilter(label=_("Quote number"), lookup_expr="icontains")
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")
    product = django_filters.ModelChoiceFilter(label=_("Product"), queryset=Product.objects.order_by("name"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Quote.Status.choices)
    valid_until = django_filters.DateFromToRangeFilter(label=_("Valid until between"), widget=DATE_RANGE)

    class Meta:
        model = Quote
        fields = ["number", "customer", "product", "status", "valid_until"]

    def filter_customer(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(customer__full_name__icontains=value) | Q(customer__id_number__icontains=value))
