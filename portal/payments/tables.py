import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from portal.core.money import format_money

from .models import ClaimPayout, Instalment, LedgerAccount, Payment
from .services import payout_actions_available

MONEY = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

BADGE_COLOURS = {
    Payment: {Payment.Status.CONFIRMED: "success", Payment.Status.REVERSED: "secondary"},
    Instalment: {
        Instalment.Status.OPEN: "primary",
        Instalment.Status.PAID: "success",
        Instalment.Status.CANCELLED: "secondary",
    },
    ClaimPayout: {
        ClaimPayout.Status.PREPARED: "warning",
        ClaimPayout.Status.CONFIRMED: "success",
        ClaimPayout.Status.CANCELLED: "secondary",
    },
}


def status_badge(record, *, today=None):
    """The status of a payment, instalment or payout as a Bootstrap badge; an open instalment past
    its due date shows as overdue."""
    if isinstance(record, Instalment) and record.is_overdue(today):
        return format_html('<span class="badge text-bg-danger" data-testid="status-badge">{}</span>', _("Overdue"))
    return format_html(
        '<span class="badge text-bg-{}" data-testid="status-badge">{}</span>',
        BADGE_COLOURS[type(record)][record.status],
        record.get_status_display(),
    )


def short_date(value):
    return date_format(value, "SHORT_DATE_FORMAT") if value else "—"


class PaymentTable(tables.Table):
    received_on = tables.LinkColumn("payments:payment_detail", args=[tables.A("pk")], verbose_name=_("Date"))
    customer = tables.Column(verbose_name=_("Customer"), accessor="account__customer__full_name")
    method = tables.Column(verbose_name=_("Method"))
    reference = tables.Column(verbose_name=_("Reference"))
    direction = tables.Column(verbose_name=_("Direction"))
    amount = tables.Column(verbose_name=_("Amount"), attrs=MONEY)
    status = tables.Column(verbose_name=_("Status"))
    recorded_by = tables.Column(verbose_name=_("Recorded by"), accessor="recorded_by__full_name", empty_values=())

    class Meta:
        model = Payment
        fields = ["received_on", "customer", "method", "reference", "direction", "amount", "status", "recorded_by"]
        order_by = ("-received_on",)
        attrs = {"class": "table table-hover align-middle", "data-testid": "payment-table"}

    def render_received_on(self, value):
        return short_date(value)

    def order_received_on(self, queryset, is_descending):
        prefix = "-" if is_descending else ""
        return queryset.order_by(f"{prefix}received_on", f"{prefix}id"), True

    def render_amount(self, record):
        return format_money(record.amount, record.currency)

    def render_status(self, record):
        return status_badge(record)

    def render_recorded_by(self, record):
        return record.recorded_by.full_name if record.recorded_by else _("Gateway")


class AccountTable(tables.Table):
    customer = tables.LinkColumn(
        "payments:account_detail", args=[tables.A("pk")], verbose_name=_("Customer"), accessor="customer__full_name"
    )
    id_number = tables.Column(verbose_name=_("ID number"), accessor="customer__id_number")
    agent = tables.Column(verbose_name=_("Agent"), accessor="customer__agent__full_name")
    currency = tables.Column(verbose_name=_("Currency"))
    overdue_count = tables.Column(verbose_name=_("Overdue instalments"), attrs={"td": {"class": "text-center"}})
    balance = tables.Column(verbose_name=_("Balance due today"), attrs=MONEY)

    class Meta:
        model = LedgerAccount
        fields = ["customer", "id_number", "agent", "currency", "overdue_count", "balance"]
        order_by = ("customer",)
        attrs = {"class": "table table-hover align-middle", "data-testid": "account-table"}

    def render_overdue_count(self, value):
        if not value:
            return "—"
        return format_html('<span class="badge text-bg-danger">{}</span>', value)

    def render_balance(self, record):
        colour = "text-danger" if record.balance > 0 else "text-success" if record.balance < 0 else ""
        return format_html('<span class="{}">{}</span>', colour, format_money(record.balance, record.currency))


class PayoutTable(tables.Table):
    number = tables.Column(verbose_name=_("Payout"))
    claim = tables.Column(verbose_name=_("Claim"), accessor="claim__number")
    customer = tables.Column(verbose_name=_("Customer"), accessor="account__customer__full_name")
    amount = tables.Column(verbose_name=_("Amount"), attrs=MONEY)
    payee_account = tables.Column(verbose_name=_("Pay to"))
    status = tables.Column(verbose_name=_("Status"))
    prepared_by = tables.Column(verbose_name=_("Prepared by"), accessor="prepared_by__full_name")
    prepared_at = tables.Column(verbose_name=_("Prepared"))
    decision = tables.Column(verbose_name=_("Confirmed or cancelled"), empty_values=(), orderable=False)
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = ClaimPayout
        fields = [
            "number",
            "claim",
            "customer",
            "amount",
            "payee_account",
            "status",
            "prepared_by",
            "prepared_at",
            "decision",
            "actions",
        ]
        order_by = ("-prepared_at",)
        attrs = {"class": "table table-hover align-middle", "data-testid": "payout-table"}
        row_attrs = {"data-testid": lambda record: f"payout-{record.number}"}

    def render_amount(self, record):
        return format_money(record.amount, record.currency)

    def render_status(self, record):
        return status_badge(record)

    def render_actions(self, record):
        """The buttons the signed-in user may press on this payout (the services' own rules)."""
        context = {"payout": record, "actions": payout_actions_available(record, self.request.user)}
        return render_to_string("payments/payout_list.html#payout-actions", context, request=self.request)

    def render_prepared_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")

    def render_decision(self, record):
        if record.status == ClaimPayout.Status.CONFIRMED:
            who, when = record.confirmed_by, record.confirmed_at
        elif record.status == ClaimPayout.Status.CANCELLED:
            who, when = record.cancelled_by, record.cancelled_at
        else:
            return "—"
        return format_html(
            '{}<br><small class="text-body-secondary">{}</small>',
            who.full_name,
            date_format(localtime(when), "SHORT_DATETIME_FORMAT"),
        )
