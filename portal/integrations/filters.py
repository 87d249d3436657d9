import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget

from portal.outbox import destinations
from portal.outbox.models import EventType, OutboxMessage


def _destination_choices():
    return [(destination.name, destination.label) for destination in destinations.registered()]


class OutboxFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=OutboxMessage.State.choices)
    destination = django_filters.ChoiceFilter(label=_("Destination"), choices=_destination_choices)
    event_type = django_filters.ChoiceFilter(label=_("Event"), choices=EventType.choices)
    aggregate = django_filters.CharFilter(
        label=_("Policy or loan number"), field_name="aggregate_id", lookup_expr="startswith"
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("Written between"), field_name="created_at", widget=DateRangeWidget(attrs={"type": "date"})
    )

    # The filter bar (portal.core.listing.FilterBar): a number typed in the search box, then the state.
    search_field = "aggregate"
    quick_fields = ("state", "destination")

    class Meta:
        model = OutboxMessage
        fields = ["state", "destination", "event_type", "aggregate", "created"]
