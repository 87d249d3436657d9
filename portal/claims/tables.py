import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.core.money import format_money
from portal.policies.tables import MONEY, short_date

from .models import BulkTransitionResult, Claim

BADGE_COLOURS = {
    Claim.Status.PENDING: "info",
    Claim.Status.UNDER_REVIEW: "warning",
    Claim.Status.APPROVED: "success",
    Claim.Status.REJECTED: "danger",
    Claim.Status.PAID: "primary",
    Claim.Status.CLOSED: "secondary",
}
NOWRAP = {"td": {"class": "text-nowrap"}}
OUTCOME_COLOURS = {BulkTransitionResult.Outcome.DONE: "success", BulkTransitionResult.Outcome.REFUSED: "danger"}


def claim_status_badge(claim):
    return format_html(
        '<span class="badge text-bg-{}" data-testid="claim-status">{}</span>',
        BADGE_COLOURS[claim.status],
        claim.get_status_display(),
    )


def age_in_days(created_at):
    days = (timezone.localdate() - timezone.localdate(created_at)).days
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


class ClaimTable(tables.Table):
    """The work queue. Every column reads the claim row or a to-one join the selector already makes."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "input": {"name": "claim", "form": "bulk-form", "class": "form-check-input", "data-testid": "select-claim"},
            "th__input": {
                "class": "form-check-input",
                "data-testid": "select-page",
                "aria-label": _("Select every claim on this page"),
                "onchange": "document.querySelectorAll('[data-testid=select-claim]')"
                ".forEach(function (box) { box.checked = this.checked; }, this)",
            },
        },
    )
    number = tables.LinkColumn("claims:claim_detail", args=[tables.A("pk")], verbose_name=_("Claim"), attrs=NOWRAP)
    status = tables.Column(verbose_name=_("Status"))
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__full_name")
    policy = tables.Column(verbose_name=_("Policy"), accessor="policy__number", attrs=NOWRAP)
    product = tables.Column(verbose_name=_("Product"), accessor="policy__product__name")
    coverage = tables.Column(verbose_name=_("Coverage"), accessor="coverage_name", orderable=False)
    loss_date = tables.Column(verbose_name=_("Date of loss"), attrs=NOWRAP)
    claimed_amount = tables.Column(verbose_name=_("Claimed"), attrs=MONEY)
    approved_amount = tables.Column(verbose_name=_("Approved"), attrs=MONEY, default="—")
    assignee = tables.Column(verbose_name=_("Assignee"), accessor="assignee__full_name", default="—")
    agent = tables.Column(verbose_name=_("Agent"), accessor="customer__agent__full_name")
    created_at = tables.Column(verbose_name=_("Filed"), attrs=NOWRAP)
    age = tables.Column(verbose_name=_("Age"), accessor="created_at", order_by=("-created_at",), attrs=NOWRAP)

    class Meta:
        model = Claim
        fields = [
            "select",
            "number",
            "status",
            "customer",
            "policy",
            "product",
            "coverage",
            "loss_date",
            "claimed_amount",
            "approved_amount",
            "assignee",
            "agent",
            "created_at",
            "age",
        ]
        order_by = "-created_at"
        attrs = {"class": "table table-hover table-sm align-middle", "data-testid": "claim-table"}
        # Writes each row's cells out (same as the columns' render methods, which the exports use).
        template_name = "claims/queue_table.html"

    def render_status(self, record):
        return claim_status_badge(record)

    def render_loss_date(self, value):
        return short_date(value)

    def render_claimed_amount(self, record):
        return format_money(record.claimed_amount, record.currency)

    def render_approved_amount(self, record):
        return format_money(record.approved_amount, record.currency)

    def render_created_at(self, value):
        return short_date(localtime(value))

    def render_age(self, value):
        return age_in_days(value)


class RelatedClaimTable(tables.Table):
    """The claims on a policy's or a customer's page."""

    number = tables.LinkColumn("claims:claim_detail", args=[tables.A("pk")], verbose_name=_("Claim"))
    status = tables.Column(verbose_name=_("Status"))
    policy = tables.Column(verbose_name=_("Policy"), accessor="policy__number")
    coverage = tables.Column(verbose_name=_("Coverage"), accessor="coverage_name")
    loss_date = tables.Column(verbose_name=_("Date of loss"))
    claimed_amount = tables.Column(verbose_name=_("Claimed"), attrs=MONEY)
    approved_amount = tables.Column(verbose_name=_("Approved"), attrs=MONEY, default="—")

    class Meta:
        model = Claim
        fields = ["number", "status", "policy", "coverage", "loss_date", "claimed_amount", "approved_amount"]
        orderable = False
        empty_text = _("No claims yet.")
        attrs = {"class": "table table-sm align-middle mb-0", "data-testid": "related-claims"}

    def render_status(self, record):
        return claim_status_badge(record)

    def render_loss_date(self, value):
        return short_date(value)

    def render_claimed_amount(self, record):
        return format_money(record.claimed_amount, record.currency)

    def render_approved_amount(self, record):
        return format_money(record.approved_amount, record.currency)


class BulkResultTable(tables.Table):
    claim = tables.LinkColumn(
        "claims:claim_detail", args=[tables.A("claim_id")], accessor="claim__number", verbose_name=_("Claim")
    )
    outcome = tables.Column(verbose_name=_("Outcome"))
    status = tables.Column(verbose_name=_("Status now"), accessor="claim__status")
    message = tables.Column(verbose_name=_("Why"), default="")

    class Meta:
        model = BulkTransitionResult
        fields = ["claim", "outcome", "status", "message"]
        orderable = False
        attrs = {"class": "table table-sm align-middle", "data-testid": "bulk-results"}
        row_attrs = {
            "data-testid": "bulk-result",
            "data-claim": lambda record: record.claim.number,
            "data-outcome": lambda record: record.outcome,
        }

    def render_outcome(self, record):
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', OUTCOME_COLOURS[record.outcome], record.get_outcome_display()
        )

    def render_status(self, record):
        return claim_status_badge(record.claim)
