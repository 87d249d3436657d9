import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from portal.core.money import format_money
from portal.policies.tables import status_badge

from .models import Customer

END = {"th": {"class": "text-end"}, "td": {"class": "text-end"}}


class CustomerTable(tables.Table):
    full_name = tables.LinkColumn("customers:customer_detail", args=[tables.A("pk")], verbose_name=_("Name"))
    id_number = tables.Column(verbose_name=_("ID"), order_by=("id_number", "id_type"))
    email_primary = tables.Column(verbose_name=_("Email"))
    phone = tables.Column(verbose_name=_("Phone"))
    city = tables.Column(verbose_name=_("City"))
    agent = tables.Column(verbose_name=_("Agent"), accessor="agent__full_name", order_by=("agent__full_name",))
    policy_count = tables.Column(verbose_name=_("Policies"), attrs=END)
    created_at = tables.Column(verbose_name=_("Created"))

    class Meta:
        model = Customer
        fields = ["full_name", "id_number", "email_primary", "phone", "city", "agent", "policy_count", "created_at"]
        order_by = "full_name"
        attrs = {"class": "table table-hover table-sm align-middle", "data-testid": "customer-table"}
        row_attrs = {"data-testid": "customer-row"}

    def render_id_number(self, record):
        return f"{record.id_type} {record.id_number}"

    def render_created_at(self, value):
        return date_format(localtime(value), "SHORT_DATE_FORMAT")


class CustomerPolicyTable(tables.Table):
    """The policies on the customer's page: what is in force, for how long and at what premium."""

    number = tables.LinkColumn("policies:policy_detail", args=[tables.A("pk")], verbose_name=_("Policy"))
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    status = tables.Column(verbose_name=_("Status"))
    start_date = tables.Column(verbose_name=_("Cover starts"), accessor="current_version__start_date")
    end_date = tables.Column(verbose_name=_("Cover ends"), accessor="current_version__cover_end")
    premium = tables.Column(verbose_name=_("Premium"), accessor="current_version__premium", attrs=END)

    class Meta:
        orderable = False
        empty_text = _("No policies yet. Issue one from an accepted quote.")
        attrs = {"class": "table table-sm align-middle mb-0", "data-testid": "policy-table"}

    def render_status(self, record):
        return status_badge(record)

    def render_start_date(self, value):
        return date_format(value, "SHORT_DATE_FORMAT")

    def render_end_date(self, value):
        return date_format(value, "SHORT_DATE_FORMAT")

    def render_premium(self, value, record):
        return format_money(value, record.current_version.currency)


class CustomerQuoteTable(tables.Table):
    number = tables.LinkColumn("policies:quote_detail", args=[tables.A("pk")], verbose_name=_("Quote"))
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    status = tables.Column(verbose_name=_("Status"))
    premium = tables.Column(verbose_name=_("Premium"), attrs=END)
    valid_until = tables.Column(verbose_name=_("Valid until"))

    class Meta:
        orderable = False
        empty_text = _("No quotes yet. Use “New quote” to price one.")
        attrs = {"class": "table table-sm align-middle mb-0", "data-testid": "quote-table"}

    def render_status(self, record):
        return status_badge(record)

    def render_premium(self, value, record):
        return format_money(value, record.currency)

    def render_valid_until(self, value):
        return date_format(value, "SHORT_DATE_FORMAT")
