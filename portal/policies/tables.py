import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.core.money import format_money

from .models import Policy, Quote

BADGE_COLOURS = {
    Quote: {
        Quote.Status.DRAFT: "secondary",
        Quote.Status.QUOTED: "primary",
        Quote.Status.ACCEPTED: "info",
        Quote.Status.ISSUED: "success",
        Quote.Status.EXPIRED: "dark",
        Quote.Status.DECLINED: "danger",
    },
    Policy: {
        Policy.Status.PENDING: "info",
        Policy.Status.ACTIVE: "success",
        Policy.Status.SUSPENDED: "warning",
        Policy.Status.EXPIRED: "secondary",
        Policy.Status.CANCELLED: "danger",
        Policy.Status.LAPSED: "dark",
    },
}

MONEY = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


def status_badge(record):
    """The status of a quote or policy as a Bootstrap badge, one colour per status."""
    return format_html(
        '<span class="badge text-bg-{}" data-testid="status-badge">{}</span>',
        BADGE_COLOURS[type(record)][record.status],
        record.get_status_display(),
    )


def short_date(value):
    return date_format(value, "SHORT_DATE_FORMAT") if value else "—"


class QuoteTable(tables.Table):
    number = tables.LinkColumn("policies:quote_detail", args=[tables.A("pk")], verbose_name=_("Quote"))
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name")
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    status = tables.Column(verbose_name=_("Status"))
    sum_insured = tables.Column(verbose_name=_("Sum insured"), attrs=MONEY)
    premium = tables.Column(verbose_name=_("Premium"), attrs=MONEY)
    valid_until = tables.Column(verbose_name=_("Valid until"))
    created_at = tables.Column(verbose_name=_("Created"))

    class Meta:
        model = Quote
        fields = ["number", "customer", "product", "status", "sum_insured", "premium", "valid_until", "created_at"]
        order_by = "-created_at"
        attrs = {"class": "table table-hover align-middle", "data-testid": "quote-table"}

    def render_status(self, record):
        return status_badge(record)

    def render_sum_insured(self, record):
        return format_money(record.sum_insured, record.currency)

    def render_premium(self, record):
        return format_money(record.premium, record.currency)

    def render_valid_until(self, value):
        return short_date(value)

    def render_created_at(self, value):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")


class PolicyTable(tables.Table):
    number = tables.LinkColumn("policies:policy_detail", args=[tables.A("pk")], verbose_name=_("Policy"))
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name")
    id_number = tables.Column(verbose_name=_("ID number"), accessor="customer__id_number")
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    agent = tables.Column(verbose_name=_("Agent"), accessor="customer__agent__full_name")
    status = tables.Column(verbose_name=_("Status"))
    start_date = tables.Column(verbose_name=_("Cover starts"), accessor="current_version__start_date")
    end_date = tables.Column(verbose_name=_("Cover ends"), accessor="current_version__end_date")
    sum_insured = tables.Column(verbose_name=_("Sum insured"), accessor="current_version__sum_insured", attrs=MONEY)
    premium = tables.Column(verbose_name=_("Premium for the term"), accessor="current_version__premium", attrs=MONEY)
    issued = tables.Column(verbose_name=_("Issued"), accessor="created_at")

    class Meta:
        model = Policy
        fields = [
            "number",
            "customer",
            "id_number",
            "product",
            "agent",
            "status",
            "start_date",
            "end_date",
            "sum_insured",
            "premium",
            "issued",
        ]
        order_by = "-issued"
        attrs = {"class": "table table-hover align-middle", "data-testid": "policy-table"}

    def render_status(self, record):
        return status_badge(record)

    def render_start_date(self, value):
        return short_date(value)

    def render_end_date(self, value):
        return short_date(value)

    def render_sum_insured(self, record):
        return format_money(record.current_version.sum_insured, record.current_version.currency)

    def render_premium(self, record):
        return format_money(record.current_version.premium, record.current_version.currency)

    def render_issued(self, value):
        return short_date(localtime(value))


class RenewalTable(tables.Table):
    number = tables.LinkColumn("policies:policy_detail", args=[tables.A("pk")], verbose_name=_("Policy"))
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name")
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    end_date = tables.Column(verbose_name=_("Cover ends"), accessor="current_version__end_date")
    days_left = tables.Column(
        verbose_name=_("Days left"), accessor="current_version__end_date", order_by="current_version__end_date"
    )
    premium = tables.Column(verbose_name=_("Premium for the term"), accessor="current_version__premium", attrs=MONEY)
    reminders_sent = tables.Column(verbose_name=_("Reminders sent"), attrs={"td": {"class": "text-center"}})
    renew = tables.TemplateColumn(
        template_name="policies/renewal_queue.html#renew-button", verbose_name="", orderable=False
    )

    class Meta:
        model = Policy
        fields = ["number", "customer", "product", "end_date", "days_left", "premium", "reminders_sent", "renew"]
        attrs = {"class": "table table-hover align-middle", "data-testid": "renewal-table"}

    def render_end_date(self, value):
        return short_date(value)

    def render_days_left(self, value):
        days = (value - timezone.localdate()).days
        colour = "danger" if days <= 7 else "warning" if days <= 30 else "secondary"
        label = ngettext("%(days)d day", "%(days)d days", days) % {"days": days}
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, label)

    def render_premium(self, record):
        return format_money(record.current_version.premium, record.current_version.currency)
