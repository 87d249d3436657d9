"""The report catalogue: each report is one definition (its parameters with their validation, the
roles that may run it, its columns with types and totals, and the selector that gives its rows), and
REPORTS lists them all. Scope is never a parameter: every source reads through the domains'
`*_visible_to(user)` selectors, so a supervisor's report covers their teams' books whatever they ask.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import Role

from . import sources

TEXT, INT, MONEY, DATE, DATETIME, PERCENT, MONTH = "text", "int", "money", "date", "datetime", "percent", "month"
EVERY_BOOK = frozenset({Role.ADMIN, Role.FINANCE, Role.INTERVENTORIA})
BOOK_ROLES = EVERY_BOOK | {Role.SUPERVISOR, Role.AGENT}
# How far back a report may reach in one run (a date range is one of its parameters).
MAX_RANGE_DAYS = 3 * 366


# How finely a ratio is given, in the rows (sources.py) and in the totals (writers.Totals).
RATIO_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT
    total: bool = False
    # (numerator key, denominator key) of two total columns: the totals line gives the ratio of their
    # totals (a sum of ratios means nothing); blank unless the denominator's total is positive, as in a row.
    ratio_of: tuple | None = None


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str = DATE
    required: bool = True


def _default_from(today, given):
    """The first day of the year of `to` when only `to` is given (a lone earlier `to` then still makes a
    range), else of this year."""
    return given.get("to", today).replace(month=1, day=1)


def _default_to(today, given):
    """Today, or the last day of `from`'s year when only a `from` after today is given."""
    start = given.get("from")
    return start.replace(month=12, day=31) if start is not None and start > today else today


DEFAULTS = {"from": _default_from, "to": _default_to, "as_of": lambda today, given: today}
FROM = Param("from", _("From"))
TO = Param("to", _("To"))
AS_OF = Param("as_of", _("As of"))
AGENT = Param("agent", _("Agent (id)"), kind=INT, required=False)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    roles: frozenset
    params: tuple
    columns: tuple
    source: object  # (user, params) -> sources.ReportData
    # The column whose value says which currency a row's money is in: totals are per currency.
    currency_column: str = "currency"
    # (label column, value column) of the bar chart the PDF draws, or None.
    chart: tuple | None = None
    extra_params: tuple = field(default_factory=tuple)

    def column_index(self, key):
        return [column.key for column in self.columns].index(key)


REPORTS = {
    report.name: report
    for report in [
        Report(
            name="premium_production",
            title=_("Premium production"),
            description=_(
                "Written premium by month of the versions' effective dates, product and agent, net of "
                "cancellations and returns, with counts of new business, renewals, endorsements, cancellations "
                "and reinstatements."
            ),
            roles=BOOK_ROLES,
            params=(FROM, TO, AGENT),
            columns=(
                Column("month", _("Month"), MONTH),
                Column("product", _("Product")),
                Column("agent", _("Agent")),
                Column("currency", _("Currency")),
                Column("new_business", _("New business"), INT, total=True),
                Column("renewals", _("Renewals"), INT, total=True),
                Column("endorsements", _("Endorsements"), INT, total=True),
                Column("cancellations", _("Cancellations"), INT, total=True),
                Column("reinstatements", _("Reinstatements"), INT, total=True),
                Column("written_premium", _("Written premium"), MONEY, total=True),
            ),
            source=sources.premium_production,
            chart=("product", "written_premium"),
        ),
        Report(
            name="earned_premium",
            title=_("Earned and unearned premium"),
            description=_(
                "Per policy at a date, over the versions effective by then, pro rata by day: written, earned "
                "and unearned premium (earned + unearned = written)."
            ),
            roles=EVERY_BOOK | {Role.SUPERVISOR},
            params=(AS_OF, AGENT),
            columns=(
                Column("policy", _("Policy")),
                Column("product", _("Product")),
                Column("agent", _("Agent")),
                Column("currency", _("Currency")),
                Column("written", _("Written premium"), MONEY, total=True),
                Column("earned", _("Earned premium"), MONEY, total=True),
                Column("unearned", _("Unearned premium"), MONEY, total=True),
            ),
            source=sources.earned_premium,
            chart=("product", "earned"),
        ),
        Report(
            name="collections",
            title=_("Collections"),
            description=_("Money collected per day and payment method."),
            roles=BOOK_ROLES,
            params=(FROM, TO, AGENT),
            columns=(
                Column("day", _("Day"), DATE),
                Column("method", _("Method")),
                Column("currency", _("Currency")),
                Column("payments", _("Payments"), INT, total=True),
                Column("collected", _("Collected"), MONEY, total=True),
            ),
            source=sources.collections,
            chart=("method", "collected"),
        ),
        Report(
            name="receivables_ageing",
            title=_("Receivables ageing"),
            description=_(
                "As at a date: the instalments of policies in cover by then, less what payments received by then "
                "paid, per customer and agent by days overdue: current, 1-30, 31-60, 61-90, 90+."
            ),
            roles=BOOK_ROLES,
            params=(AS_OF, AGENT),
            columns=(
                Column("customer", _("Customer")),
                Column("agent", _("Agent")),
                Column("currency", _("Currency")),
                Column("current", _("Current"), MONEY, total=True),
                Column("days_1_30", _("1-30 days"), MONEY, total=True),
                Column("days_31_60", _("31-60 days"), MONEY, total=True),
                Column("days_61_90", _("61-90 days"), MONEY, total=True),
                Column("days_90_plus", _("90+ days"), MONEY, total=True),
                Column("open_balance", _("Open balance"), MONEY, total=True),
            ),
            source=sources.receivables_ageing,
            chart=("agent", "open_balance"),
        ),
        Report(
            name="claims",
            title=_("Claims"),
            description=_(
                "Claims filed per month and product: open, approved and rejected (a claim closed without an "
                "approved amount counts as rejected), the age of the open ones, and incurred (approved), paid "
                "and outstanding amounts."
            ),
            roles=BOOK_ROLES,
            params=(FROM, TO, AGENT),
            columns=(
                Column("month", _("Month"), MONTH),
                Column("product", _("Product")),
                Column("currency", _("Currency")),
                Column("filed", _("Filed"), INT, total=True),
                Column("open", _("Open"), INT, total=True),
                Column("approved", _("Approved or paid"), INT, total=True),
                Column("rejected", _("Rejected"), INT, total=True),
                Column("open_age_days", _("Average age of open claims (days)"), INT),
                Column("incurred", _("Incurred"), MONEY, total=True),
                Column("paid", _("Paid"), MONEY, total=True),
                Column("outstanding", _("Outstanding"), MONEY, total=True),
            ),
            source=sources.claims,
            chart=("product", "incurred"),
        ),
        Report(
            name="loss_ratio",
            title=_("Loss ratio"),
            description=_("Incurred claims (approved, by date of loss) over earned premium, per product, in a period."),
            roles=EVERY_BOOK | {Role.SUPERVISOR},
            params=(FROM, TO, AGENT),
            columns=(
                Column("product", _("Product")),
                Column("currency", _("Currency")),
                Column("earned", _("Earned premium"), MONEY, total=True),
                Column("incurred", _("Incurred"), MONEY, total=True),
                Column("loss_ratio", _("Loss ratio"), PERCENT, ratio_of=("incurred", "earned")),
            ),
            source=sources.loss_ratio,
            chart=("product", "loss_ratio"),
        ),
        Report(
            name="payouts",
            title=_("Claim payouts"),
            description=_(
                "Payouts prepared in a period: who prepared and confirmed them and when, and any difference "
                "between the payout and the payment recorded for it."
            ),
            roles=EVERY_BOOK,
            params=(FROM, TO),
            columns=(
                Column("payout", _("Payout")),
                Column("claim", _("Claim")),
                Column("status", _("Status")),
                Column("currency", _("Currency")),
                Column("amount", _("Amount"), MONEY, total=True),
                Column("prepared_by", _("Prepared by")),
                Column("prepared_at", _("Prepared at"), DATETIME),
                Column("confirmed_by", _("Confirmed by")),
                Column("confirmed_at", _("Confirmed at"), DATETIME),
                Column("paid", _("Payment recorded"), MONEY, total=True),
                Column("difference", _("Difference"), MONEY, total=True),
            ),
            source=sources.payouts,
            chart=("status", "amount"),
        ),
        Report(
            name="bordereaux",
            title=_("Bordereaux"),
            description=_(
                "Per cedant and period: premium and claims totals by class of business (claims: by status) and "
                "currency, rows rejected, and the difference against the previous period."
            ),
            roles=EVERY_BOOK,
            params=(FROM, TO),
            columns=(
                Column("source", _("Cedant")),
                Column("period", _("Period"), MONTH),
                Column("kind", _("Kind")),
                Column("group", _("Class of business or status")),
                Column("currency", _("Currency")),
                Column("rows", _("Rows"), INT, total=True),
                Column("rows_rejected", _("Rows rejected"), INT, total=True),
                Column("amount", _("Premium or incurred"), MONEY, total=True),
                Column("previous", _("Previous period"), MONEY, total=True),
                Column("difference", _("Difference"), MONEY, total=True),
            ),
            source=sources.bordereaux,
            chart=("source", "amount"),
        ),
        Report(
            name="loans",
            title=_("Loans"),
            description=_(
                "Per product and currency: loans disbursed and repaid (fees, interest and principal) in the period, "
                "and the portfolio as it stands when the report runs: running loans, what they still owe and how "
                "much of it is on loans in each arrears bucket (current, 1-30, 31-60, 61-90, 90+ days late)."
            ),
            roles=BOOK_ROLES,
            params=(FROM, TO, AGENT),
            columns=(
                Column("product", _("Product")),
                Column("currency", _("Currency")),
                Column("active_loans", _("Running loans"), INT, total=True),
                Column("disbursed_loans", _("Loans disbursed"), INT, total=True),
                Column("disbursed", _("Disbursed"), MONEY, total=True),
                Column("repaid", _("Repaid"), MONEY, total=True),
                Column("outstanding", _("Outstanding"), MONEY, total=True),
                Column("current", _("Current"), MONEY, total=True),
                Column("days_1_30", _("1-30 days"), MONEY, total=True),
                Column("days_31_60", _("31-60 days"), MONEY, total=True),
                Column("days_61_90", _("61-90 days"), MONEY, total=True),
                Column("days_90_plus", _("90+ days"), MONEY, total=True),
            ),
            source=sources.loans,
            chart=("product", "outstanding"),
        ),
        Report(
            name="audit_extract",
            title=_("Audit extract"),
            description=_(
                "Audit events in a date range, optionally of one actor (email) or action, for Interventoría."
            ),
            roles=frozenset({Role.ADMIN, Role.INTERVENTORIA}),
            params=(
                FROM,
                TO,
                Param("actor", _("Actor (email)"), kind=TEXT, required=False),
                Param("action", _("Action"), kind=TEXT, required=False),
            ),
            columns=(
                Column("occurred_at", _("When"), DATETIME),
                Column("actor", _("Actor")),
                Column("action", _("Action")),
                Column("target_type", _("Target type")),
                Column("target_id", _("Target id")),
                Column("target", _("Target")),
                Column("correlation_id", _("Correlation id")),
            ),
            source=sources.audit_extract,
            currency_column="",
        ),
    ]
}


def report_named(name):
    """The definition called `name`; ValidationError naming the catalogue when there is none."""
    try:
        return REPORTS[name]
    except KeyError:
        raise ValidationError(
            _("There is no report called %(name)s. Reports: %(names)s.") % {"name": name, "names": ", ".join(REPORTS)}
        ) from None


def reports_for(user):
    """The definitions `user`'s role may run, in catalogue order."""
    return [report for report in REPORTS.values() if user.is_authenticated and user.role in report.roles]


def may_run(user, report):
    return user.is_authenticated and user.is_active and user.role in report.roles


def _parse(param, raw):
    if param.kind == DATE:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                {param.name: _("%(value)s is not a date; write it as YYYY-MM-DD.") % {"value": raw}}
            ) from None
    if param.kind == INT:
        try:
            return int(raw)
        except ValueError:
            raise ValidationError({param.name: _("%(value)s is not a number.") % {"value": raw}}) from None
    if len(raw) > 200:
        raise ValidationError({param.name: _("At most 200 characters.")})
    return raw


def parameters_clean(report, raw, *, user, today=None):
    """`raw` ({name: text}) checked against `report`'s parameters: (typed values, their ISO strings for the
    run). Unknown names, bad dates, a reversed or too long range and an agent outside `user`'s scope are
    refused with a ValidationError that names the parameter; missing dates take their defaults."""
    today = today or timezone.localdate()
    known = {param.name: param for param in report.params}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValidationError(
            _("The report %(report)s takes no parameter %(names)s; it takes %(known)s.")
            % {"report": report.name, "names": ", ".join(unknown), "known": ", ".join(known)}
        )
    given = {}
    for name, param in known.items():
        text = str(raw.get(name) or "").strip()
        if text:
            given[name] = _parse(param, text)
    values = {}
    for name, param in known.items():
        if name in given:
            values[name] = given[name]
        elif param.required and name in DEFAULTS:
            values[name] = DEFAULTS[name](today, given)
    if "from" in values and "to" in values:
        if values["from"] > values["to"]:
            raise ValidationError({"to": _("The end of the range comes before its start.")})
        if (values["to"] - values["from"]) > timedelta(days=MAX_RANGE_DAYS):
            raise ValidationError({"from": _("A report covers at most three years; narrow the range.")})
    if "agent" in values and not sources.agent_in_scope(user, values["agent"]):
        raise ValidationError({"agent": _("That agent is not in your book.")})
    stored = {name: value.isoformat() if isinstance(value, date) else value for name, value in values.items()}
    return values, stored
