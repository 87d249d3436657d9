import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.core.money import format_money
from portal.policies.tables import MONEY, short_date

from .models import Loan

BADGE_COLOURS = {
    Loan.Status.NEW: "info",
    Loan.Status.IN_PROGRESS: "warning",
    Loan.Status.COMPLETED: "success",
    Loan.Status.REJECTED: "danger",
    Loan.Status.WITHDRAWN: "secondary",
}
NOWRAP = {"td": {"class": "text-nowrap"}}


def loan_status_badge(loan):
    return format_html(
        '<span class="badge text-bg-{}" data-testid="loan-status">{}</span>',
        BADGE_COLOURS[loan.status],
        loan.get_status_display(),
    )


def age_in_days(applied_at):
    days = (timezone.localdate() - timezone.localdate(applied_at)).days
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


class LoanTable(tables.Table):
    """The loans queue. Every column reads the loan row or a to-one join the selector already makes."""

    number = tables.LinkColumn("loans:loan_detail", args=[tables.A("pk")], verbose_name=_("Loan"), attrs=NOWRAP)
    status = tables.Column(verbose_name=_("Status"))
    task = tables.Column(verbose_name=_("Waiting on"), accessor="current_task__kind", default="—", orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name")
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    principal = tables.Column(verbose_name=_("Amount"), attrs=MONEY)
    tenure_months = tables.Column(verbose_name=_("Months"), attrs=MONEY)
    agent = tables.Column(verbose_name=_("Agent"), accessor="customer__agent__full_name")
    applied_at = tables.Column(verbose_name=_("Applied"), attrs=NOWRAP)
    age = tables.Column(verbose_name=_("Age"), accessor="applied_at", order_by=("-applied_at",), attrs=NOWRAP)

    class Meta:
        model = Loan
        fields = [
            "number",
            "status",
            "task",
            "customer",
            "product",
            "principal",
            "tenure_months",
            "agent",
            "applied_at",
            "age",
        ]
        order_by = "-applied_at"
        attrs = {"class": "table table-hover table-sm align-middle", "data-testid": "loan-table"}
        row_attrs = {"data-testid": "loan-row", "data-loan": lambda record: record.number}

    def render_status(self, record):
        return loan_status_badge(record)

    def render_task(self, record):
        return record.current_task.get_kind_display()

    def render_principal(self, record):
        return format_money(record.principal, record.currency)

    def render_applied_at(self, value):
        return short_date(localtime(value))

    def render_age(self, value):
        return age_in_days(value)


class RelatedLoanTable(tables.Table):
    """The loans on a customer's page."""

    number = tables.LinkColumn("loans:loan_detail", args=[tables.A("pk")], verbose_name=_("Loan"))
    status = tables.Column(verbose_name=_("Status"))
    product = tables.Column(verbose_name=_("Product"), accessor="product__name")
    principal = tables.Column(verbose_name=_("Amount"), attrs=MONEY)
    account_state = tables.Column(verbose_name=_("Account"), default="—")
    applied_at = tables.Column(verbose_name=_("Applied"))

    class Meta:
        model = Loan
        fields = ["number", "status", "product", "principal", "account_state", "applied_at"]
        orderable = False
        empty_text = _("No loans yet.")
        attrs = {"class": "table table-sm align-middle mb-0", "data-testid": "related-loans"}

    def render_status(self, record):
        return loan_status_badge(record)

    def render_principal(self, record):
        return format_money(record.principal, record.currency)

    def render_account_state(self, record):
        return record.get_account_state_display() or "—"

    def render_applied_at(self, value):
        return short_date(localtime(value))
