import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from portal.outbox.models import OutboxMessage

from .models import ReconciliationDifference

STATE_COLOURS = {
    OutboxMessage.State.PENDING: "info",
    OutboxMessage.State.SENT: "primary",
    OutboxMessage.State.ACKED: "success",
    OutboxMessage.State.DEAD: "danger",
    OutboxMessage.State.SKIPPED: "secondary",
}
NUMBER = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}


def state_badge(message):
    return format_html(
        '<span class="badge text-bg-{}" data-testid="message-state">{}</span>',
        STATE_COLOURS[message.state],
        message.get_state_display(),
    )


def _when(value):
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


class OutboxTable(tables.Table):
    id = tables.Column(verbose_name="#", attrs=NUMBER)
    created_at = tables.Column(verbose_name=_("Written"))
    destination = tables.Column(verbose_name=_("Destination"), orderable=False)
    aggregate_id = tables.Column(verbose_name=_("Policy or loan"), orderable=False)
    sequence = tables.Column(verbose_name=_("Seq."), attrs=NUMBER, orderable=False)
    event_type = tables.Column(verbose_name=_("Event"), orderable=False)
    state = tables.Column(verbose_name=_("State"), orderable=False)
    attempts = tables.Column(verbose_name=_("Attempts"), attrs=NUMBER, orderable=False)
    next_attempt_at = tables.Column(verbose_name=_("Next attempt"), orderable=False, empty_values=())
    last_error = tables.Column(verbose_name=_("Last error"), orderable=False)

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "created_at",
            "destination",
            "aggregate_id",
            "sequence",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
        ]
        attrs = {"class": "table table-hover table-sm align-middle", "data-testid": "outbox-table"}
        row_attrs = {
            "class": lambda record: "table-danger" if record.state == OutboxMessage.State.DEAD else "",
            "data-state": lambda record: record.state,
        }

    def render_id(self, record):
        url = reverse("integrations:message_detail", args=[record.pk])
        return format_html(
            '<a href="{}" hx-get="{}" hx-target="#message-panel" hx-push-url="true" data-testid="message-link">{}</a>',
            url,
            url,
            record.pk,
        )

    def render_created_at(self, value):
        return _when(value)

    def render_event_type(self, record):
        return record.get_event_type_display()

    def render_state(self, record):
        return state_badge(record)

    def render_next_attempt_at(self, record):
        return _when(record.next_attempt_at) if record.state == OutboxMessage.State.PENDING else "—"

    def render_last_error(self, value):
        return format_html('<small class="text-body-secondary">{}</small>', value[:120])


class DifferenceTable(tables.Table):
    kind = tables.Column(verbose_name=_("Difference"), orderable=False)
    subject = tables.Column(verbose_name=_("What"), orderable=False)
    ours = tables.Column(verbose_name=_("In Amparo"), orderable=False)
    theirs = tables.Column(verbose_name=_("In the core"), orderable=False)

    class Meta:
        model = ReconciliationDifference
        fields = ["kind", "subject", "ours", "theirs"]
        attrs = {"class": "table table-hover table-sm align-middle", "data-testid": "differences-table"}
        row_attrs = {"class": "table-warning", "data-kind": lambda record: record.kind}

    def render_kind(self, record):
        return format_html('<span class="badge text-bg-warning">{}</span>', record.get_kind_display())
