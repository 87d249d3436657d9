from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters.widgets import RangeWidget

from portal.customers.selectors import normalized_id_number
from portal.policies.filters import agents_in_book

from .models import Loan, LoanProduct, TaskKind
from .selectors import awaiting_override_q

OPEN = "OPEN"
# Not a task of its own: a credit check waiting for a supervisor (a refusal to override or confirm, a failed
# bureau call to run again).
AWAITING_OVERRIDE = "AWAITING_OVERRIDE"
TASK_CHOICES = [
    *TaskKind.choices,
    (
        AWAITING_OVERRIDE,
        pgettext_lazy("loan queue filter", "Credit check waiting for a supervisor (refused, or the bureau failed)"),
    ),
]
STATUS_CHOICES = [(OPEN, pgettext_lazy("loan status filter", "All open")), *Loan.Status.choices]
AGE_BOUNDS = {"0-7": (0, 7), "8-30": (8, 30), "31-90": (31, 90), "91+": (91, None)}
AGE_CHOICES = [
    ("0-7", _("0 to 7 days")),
    ("8-30", _("8 to 30 days")),
    ("31-90", _("31 to 90 days")),
    ("91+", _("91 days or more")),
]


class LoanFilter(django_filters.FilterSet):
    # The filter bar (portal.core.listing.FilterBar): what each role reaches for first.
    search_field = "customer"
    quick_fields = ("status", "task", "age")
    number = django_filters.CharFilter(label=_("Loan number"), method="filter_number")
    customer = django_filters.CharFilter(label=_("Customer name or ID"), method="filter_customer")
    # A customer's page links here by key: an ID number in a URL ends up in access logs.
    customer_pk = django_filters.NumberFilter(label=_("Customer"), field_name="customer_id", widget=forms.HiddenInput)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=STATUS_CHOICES, method="filter_status")
    task = django_filters.ChoiceFilter(label=_("Waiting on"), choices=TASK_CHOICES, method="filter_task")
    age = django_filters.ChoiceFilter(label=_("Age"), choices=AGE_CHOICES, method="filter_age")
    amount = django_filters.RangeFilter(
        label=_("Amount between"),
        field_name="principal",
        widget=RangeWidget(attrs={"type": "number", "step": "0.01", "min": "0"}),
    )
    product = django_filters.ModelChoiceFilter(label=_("Product"), queryset=LoanProduct.objects.order_by("name"))
    agent = django_filters.ModelChoiceFilter(label=_("Agent"), field_name="customer__agent", queryset=agents_in_book)

    class Meta:
        model = Loan
        fields = ["number", "customer", "customer_pk", "status", "task", "age", "amount", "product", "agent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("number", "customer"):
            self.filters[name].field.widget = forms.TextInput(attrs={"type": "search"})

    def filter_number(self, queryset, name, value):
        return queryset.filter(number__startswith=value.strip().upper())

    def filter_customer(self, queryset, name, value):
        value = value.strip()
        id_number = normalized_id_number(value)
        if id_number.isdigit():
            return queryset.filter(customer__id_number__startswith=id_number)
        return queryset.filter(Q(customer__full_name__istartswith=value) | Q(customer__id_number__startswith=id_number))

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=Loan.OPEN)
        return queryset.filter(status=value)

    def filter_task(self, queryset, name, value):
        # "Has a current task" says nothing more than the kind does, but it lets the planner use the
        # partial index of the loans being worked (loan_working_applied_idx) at a million loans.
        queryset = queryset.filter(current_task__isnull=False)
        if value == AWAITING_OVERRIDE:
            return queryset.filter(awaiting_override_q())
        return queryset.filter(current_task__kind=value)

    def filter_age(self, queryset, name, value):
        low, high = AGE_BOUNDS[value]
        now = timezone.now()
        queryset = queryset.filter(applied_at__lte=now - timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(applied_at__gt=now - timedelta(days=high + 1))
        return queryset
