from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters.widgets import DateRangeWidget, RangeWidget

from portal.accounts.models import User, UserStatus
from portal.accounts.selectors import users_visible_to
from portal.customers.selectors import normalized_id_number
from portal.policies.filters import agents_in_book
from portal.policies.models import Product

from . import workflow
from .models import Claim
from .selectors import AGEING_BUCKETS

DATE_RANGE = DateRangeWidget(attrs={"type": "date"})
OPEN = "OPEN"
STATUS_CHOICES = [
    (OPEN, pgettext_lazy("claim status filter", "All open")),
    *Claim.Status.choices,
]


def age_label(low, high):
    """The bucket's name in the query string and on the dashboard: '8-30', '91+'."""
    return f"{low}-{high}" if high is not None else f"{low}+"


# Keyed by the dashboard's bucket names: a bucket without a label here fails at import.
AGE_LABELS = {
    "0-7": _("0 to 7 days"),
    "8-30": _("8 to 30 days"),
    "31-90": _("31 to 90 days"),
    "91+": _("91 days or more"),
}
AGE_CHOICES = [(age_label(low, high), AGE_LABELS[age_label(low, high)]) for low, high in AGEING_BUCKETS]
AGE_BOUNDS = {age_label(low, high): (low, high) for low, high in AGEING_BUCKETS}


def assignees_in_scope(request):
    """The people who may hold a claim and whom the user sees: a handful of users, never the claims."""
    if request is None:
        return User.objects.none()
    return (
        users_visible_to(request.user)
        .filter(role__in=workflow.FILING_ROLES, status=UserStatus.ACTIVE)
        .order_by("full_name")
    )


class ClaimFilter(django_filters.FilterSet):
    # The filter bar (portal.core.listing.FilterBar): what each role reaches for first.
    search_field = "customer"
    quick_fields = {"default": ("status", "age", "assignee"), "AGENT": ("status", "age", "product")}
    # Prefix matches (what people type) use the pattern indexes; a contains match would scan every claim.
    number = django_filters.CharFilter(label=_("Claim number"), method="filter_number")
    policy = django_filters.CharFilter(label=_("Policy number"), method="filter_policy")
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")
    # Links from a customer's page name the customer by key: an ID number in a URL ends up in access logs.
    customer_pk = django_filters.NumberFilter(label=_("Customer"), field_name="customer_id", widget=forms.HiddenInput)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=STATUS_CHOICES, method="filter_status")
    age = django_filters.ChoiceFilter(label=_("Age"), choices=AGE_CHOICES, method="filter_age")
    filed = django_filters.DateFromToRangeFilter(label=_("Filed between"), field_name="created_at", widget=DATE_RANGE)
    loss = django_filters.DateFromToRangeFilter(
        label=_("Date of loss between"), field_name="loss_date", widget=DATE_RANGE
    )
    amount = django_filters.RangeFilter(
        label=_("Amount claimed between"),
        field_name="claimed_amount",
        widget=RangeWidget(attrs={"type": "number", "step": "0.01", "min": "0"}),
    )
    product = django_filters.ModelChoiceFilter(
        label=_("Product"), field_name="policy__product", queryset=Product.objects.order_by("name")
    )
    assignee = django_filters.ModelChoiceFilter(label=_("Assignee"), queryset=assignees_in_scope)
    agent = django_filters.ModelChoiceFilter(label=_("Agent"), field_name="customer__agent", queryset=agents_in_book)

    class Meta:
        model = Claim
        fields = [
            "number",
            "policy",
            "customer",
            "customer_pk",
            "status",
            "age",
            "filed",
            "loss",
            "amount",
            "product",
            "assignee",
            "agent",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("number", "policy", "customer"):
            self.filters[name].field.widget = forms.TextInput(attrs={"type": "search"})

    def filter_number(self, queryset, name, value):
        return queryset.filter(number__startswith=value.strip().upper())

    def filter_policy(self, queryset, name, value):
        return queryset.filter(policy__number__startswith=value.strip().upper())

    def filter_customer(self, queryset, name, value):
        value = value.strip()
        id_number = normalized_id_number(value)
        if id_number.isdigit():
            return queryset.filter(customer__id_number__startswith=id_number)
        return queryset.filter(Q(customer__full_name__istartswith=value) | Q(customer__id_number__startswith=id_number))

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=Claim.OPEN)
        return queryset.filter(status=value)

    def filter_age(self, queryset, name, value):
        # The same windows as the dashboard's ageing buckets, so a bucket's link lists what it counted.
        low, high = AGE_BOUNDS[value]
        now = timezone.now()
        queryset = queryset.filter(created_at__lte=now - timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(created_at__gt=now - timedelta(days=high + 1))
        return queryset
