import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .actions import action_choices
from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    search_field = "actor"
    quick_fields = ("action", "occurred")
    actor = django_filters.CharFilter(label=_("Actor"), method="filter_actor")
    action = django_filters.ChoiceFilter(label=_("Action"), choices=action_choices)
    target_type = django_filters.CharFilter(label=_("Target type"), lookup_expr="exact")
    target_id = django_filters.CharFilter(label=_("Target id"), lookup_expr="exact")
    occurred = django_filters.DateFromToRangeFilter(
        label=_("Date range"),
        field_name="occurred_at__date",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    correlation_id = django_filters.CharFilter(label=_("Correlation id"), lookup_expr="exact")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "target_type", "target_id", "occurred", "correlation_id"]

    def filter_actor(self, queryset, name, value):
        return queryset.filter(Q(actor_label__icontains=value.strip()) | Q(actor__full_name__icontains=value.strip()))
