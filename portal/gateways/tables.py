import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from portal.core.money import format_money

from .models import GatewayTransaction, WebhookEvent
from .selectors import Issue

STATUS_COLOURS = {
    GatewayTransaction.Status.PENDING: "info",
    GatewayTransaction.Status.APPROVED: "success",
    GatewayTransaction.Status.DECLINED: "danger",
    GatewayTransaction.Status.VOIDED: "secondary",
    GatewayTransaction.Status.ERROR: "dark",
}
MONEY = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}
NUMBER = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}


def status_badge(gateway_transaction):
    return format_html(
        '<span class="badge text-bg-{}" data-testid="gateway-status">{}</span>',
        STATUS_COLOURS[gateway_transaction.status],
        gateway_transaction.get_status_display(),
    )


def issue_row_class(record):
    if record.issue in Issue.SERIOUS:
        return "table-danger"
    return "table-warning" if record.issue else ""


class ReconciliationTable(tables.Table):
    reference = tables.LinkColumn(
        "gateways:transaction_detail", args=[tables.A("pk")], verbose_name=_("Reference"), orderable=False
    )
    created_at = tables.Column(verbose_name=_("Started"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name", orderable=False)
    method = tables.Column(verbose_name=_("Method"), orderable=False)
    status = tables.Column(verbose_name=_("Wompi says"), orderable=False)
    amount = tables.Column(verbose_name=_("Collected"), accessor="amount_in_cents", attrs=MONEY, orderable=False)
    payment = tables.Column(verbose_name=_("In the ledger"), attrs=MONEY, orderable=False, empty_values=())
    issue = tables.Column(verbose_name=_("Reconciliation"), orderable=False, empty_values=())

    class Meta:
        model = GatewayTransaction
        fields = ["reference", "created_at", "customer", "method", "status", "amount", "payment", "issue"]
        attrs = {"class": "table table-hover align-middle", "data-testid": "reconciliation-table"}
        row_attrs = {"class": issue_row_class, "data-issue": lambda record: record.issue or "ok"}

    def render_created_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")

    def render_status(self, record):
        return status_badge(record)

    def render_amount(self, record):
        return format_money(record.amount, record.currency)

    def render_payment(self, record):
        if record.payment is None:
            return "—"
        payment = record.payment
        amount = format_money(payment.amount, payment.currency)
        if payment.status != payment.Status.CONFIRMED:
            return format_html("<s>{}</s> <small>({})</small>", amount, payment.get_status_display())
        return amount

    def render_issue(self, record):
        if not record.issue:
            return format_html('<span class="text-success"><i class="bi bi-check2"></i> {}</span>', _("Matches"))
        colour = "danger" if record.issue in Issue.SERIOUS else "warning"
        return format_html(
            '<span class="badge text-bg-{}" data-testid="issue">{}</span>', colour, Issue.LABELS[record.issue]
        )


class FailedEventsTable(tables.Table):
    """Reconciliation's events that could not be applied; paged on its own (`events-page`)."""

    received_at = tables.Column(verbose_name=_("Received"), orderable=False)
    verified = tables.Column(verbose_name=_("Checksum"), orderable=False)
    reference = tables.Column(verbose_name=_("Reference"), orderable=False, empty_values=())
    error = tables.Column(verbose_name=_("Why it was not applied"), orderable=False)
    deliveries = tables.Column(verbose_name=_("Deliveries"), orderable=False, attrs=NUMBER)
    source_address = tables.Column(verbose_name=_("Sent from"), orderable=False)

    class Meta:
        model = WebhookEvent
        fields = ["received_at", "verified", "reference", "error", "deliveries", "source_address"]
        attrs = {"class": "table table-sm align-middle mb-0", "data-testid": "failed-events-table"}
        row_attrs = {"data-verified": lambda record: "yes" if record.verified else "no"}

    def render_received_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")

    def render_verified(self, value):
        if value:
            return format_html('<span class="badge text-bg-danger">{}</span>', _("Verified"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("Refused"))

    def render_reference(self, value):
        return value or "—"
