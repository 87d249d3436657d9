import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import IdType, User

from .models import Customer
from .selectors import agents_with_customers_visible_to

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AgentFilterField(forms.ModelChoiceField):
    def label_from_instance(self, agent):
        return agent.full_name


class AgentFilter(django_filters.ModelChoiceFilter):
    field_class = AgentFilterField


class CustomerFilter(django_filters.FilterSet):
    search_field = "q"
    quick_fields = {"default": ("agent", "city"), "AGENT": ("city", "id_type")}
    q = django_filters.CharFilter(label=_("Name, ID number or email"), method="filter_q")
    id_type = django_filters.ChoiceFilter(label=_("ID type"), choices=IdType.choices)
    agent = AgentFilter(label=_("Agent"), queryset=User.objects.none())
    city = django_filters.CharFilter(label=_("City"), lookup_expr="icontains")
    created_from = django_filters.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte", widget=DATE_INPUT
    )
    created_to = django_filters.DateFilter(
        label=_("Created until"), field_name="created_at", lookup_expr="date__lte", widget=DATE_INPUT
    )

    class Meta:
        model = Customer
        fields = ["q", "id_type", "agent", "city", "created_from", "created_to"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["agent"].queryset = agents_with_customers_visible_to(user)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        id_number = value.replace(" ", "")
        return queryset.filter(
            Q(full_name__icontains=value)
            | Q(id_number__icontains=id_number)
            | Q(email_primary__icontains=value)
            | Q(email_secondary__icontains=value)
        )
