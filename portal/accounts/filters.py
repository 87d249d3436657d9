import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Role, Team, User, UserStatus


class UserFilter(django_filters.FilterSet):
    search_field = "q"
    quick_fields = ("role", "status", "team")
    q = django_filters.CharFilter(label=_("Name, email or ID number"), method="filter_q")
    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=UserStatus.choices)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())

    class Meta:
        model = User
        fields = ["q", "role", "status", "team"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(full_name__icontains=value) | Q(email_primary__icontains=value) | Q(id_number__icontains=value)
        )
