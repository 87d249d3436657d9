import json

import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .actions import action_label
from .models import AuditEvent


class AuditEventTable(tables.Table):
    occurred_at = tables.Column(verbose_name=_("When"), attrs={"td": {"class": "text-nowrap"}})
    actor_label = tables.Column(verbose_name=_("Actor"), empty_values=())
    action = tables.Column(verbose_name=_("Action"))
    target = tables.Column(verbose_name=_("Target"), empty_values=(), orderable=False, attrs={"td": {"class": "wrap"}})
    ip_address = tables.Column(verbose_name=_("IP address"))
    correlation_id = tables.Column(verbose_name=_("Correlation id"), orderable=False)
    metadata = tables.Column(verbose_name=_("Details"), orderable=False, attrs={"td": {"class": "wrap details"}})

    class Meta:
        model = AuditEvent
        fields = ["occurred_at", "actor_label", "action", "target", "ip_address", "correlation_id", "metadata"]
        order_by = "-occurred_at"

    def render_occurred_at(self, value):
        # A plain formatter: DateTimeColumn renders a template per cell, which dominated page time.
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")

    def render_actor_label(self, value):
        return value or "—"

    def render_action(self, value):
        return format_html('<span title="{}">{}</span>', value, action_label(value))

    def render_target(self, record):
        if not record.target_type:
            return "—"
        return format_html(
            '{} <small class="text-body-secondary">{} #{}</small>',
            record.target_label,
            record.target_type,
            record.target_id,
        )

    def render_correlation_id(self, value):
        return format_html('<code class="small">{}</code>', value[:8]) if value else "—"

    def render_metadata(self, value):
        if not value:
            return "—"
        return format_html('<code class="small">{}</code>', json.dumps(value, ensure_ascii=False))
