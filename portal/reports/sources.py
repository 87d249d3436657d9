"""The rows of each catalogue report: reads over the domains' `*_visible_to(user)` selectors, so the
scope of a report is the scope of the lists its user already sees. Each returns ReportData: the rows
(tuples in the definition's column order, read in chunks) and, when known up front, how many.

Money is summed in the database per currency; pro-rata earnings use the policies' own rules
(`portal.policies.prorata`), version by version.
"""

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DateField, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, TruncMonth
from django.utils import timezone

from portal.accounts.models import Role, User
from portal.accounts.selectors import book_scope_q
from portal.audit.selectors import audit_events_visible_to
from portal.claims.models import Claim
from portal.claims.selectors import claims_visible_to
from portal.core.money import ZERO
from portal.ingestion.fields import Kind
from portal.ingestion.models import ImportJob
from portal.ingestion.selectors import bordereau_totals_visible_to, import_jobs_visible_to
from portal.loans.models import AccountState, ArrearsBucket, LoanInstalment, LoanRepayment
from portal.loans.selectors import loans_visible_to
from portal.payments.models import ClaimPayout, Payment, PaymentAllocation
from portal.payments.selectors import instalments_visible_to, payments_visible_to, payouts_visible_to
from portal.policies.models import PolicyVersion
from portal.policies.prorata import earned_premium as prorata_earned
from portal.policies.selectors import policies_visible_to

CHUNK = 5000
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)
KIND_LABELS = dict(Kind.CHOICES)


@dataclass
class ReportData:
    rows: object
    total: int | None = None
    # The queryset whose rows are `rows`, column for column, when there is one: the CSV writer then
    # has PostgreSQL COPY it (csvcopy.py) instead of reading the rows into Python.
    query: object = None


def book_owners_in_scope(user):
    """The users whose books are inside `user`'s scope: everyone's, a supervisor's agents (and their
    own), an agent's own. book_scope_q names an agent by instance, which the `pk` field itself refuses."""
    if user.is_authenticated and user.role == Role.AGENT:
        return User.objects.filter(pk=user.pk, is_active=True)
    return User.objects.filter(book_scope_q(user, agent_field="pk"))


def agent_in_scope(user, agent_id):
    """Whether `agent_id` owns a book inside `user`'s scope."""
    return book_owners_in_scope(user).filter(pk=agent_id).exists()


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _agent_filter(params, field):
    return Q(**{field: params["agent"]}) if params.get("agent") else Q()


def _listed(rows):
    rows = list(rows)
    return ReportData(rows=rows, total=len(rows))


def premium_production(user, params):
    """Versions booked by their effective month (a backdated version counts where it takes effect, not
    when it was recorded), grouped by product and agent ids so namesakes stay apart."""
    kinds = ("new_business", "renewal", "endorsement", "cancellation", "reinstatement")
    group = (
        "month",
        "policy__product_id",
        "policy__product__name",
        "policy__customer__agent_id",
        "policy__customer__agent__full_name",
        "currency",
    )
    query = (
        PolicyVersion.objects.filter(
            policy__in=policies_visible_to(user).values("pk"),
            effective_date__gte=params["from"],
            effective_date__lte=params["to"],
        )
        .filter(_agent_filter(params, "policy__customer__agent"))
        .annotate(month=TruncMonth("effective_date", output_field=DateField()))
        .values(*group)
        .annotate(**{kind.lower(): Count("pk", filter=Q(kind=kind)) for kind in PolicyVersion.Kind.values})
        .annotate(written=Coalesce(Sum("premium_change"), ZERO, output_field=MONEY_FIELD))
        .order_by(
            "month",
            "policy__product__name",
            "policy__product_id",
            "policy__customer__agent__full_name",
            "policy__customer__agent_id",
            "currency",
        )
        # Exactly the report's columns, in order: PostgreSQL COPYs this query as the file.
        .values_list(
            "month", "policy__product__name", "policy__customer__agent__full_name", "currency", *kinds, "written"
        )
    )
    return ReportData(rows=query.iterator(chunk_size=CHUNK), query=query)


@dataclass(frozen=True)
class _Version:
    """The fields of a policy version the pro-rata rules read, without building a model per row."""

    number: int
    kind: str
    effective_date: object
    start_date: object
    end_date: object
    premium: Decimal
    premium_change: Decimal

    @property
    def ends_cover(self):
        return self.kind == PolicyVersion.Kind.CANCELLATION


@dataclass(frozen=True)
class _PolicyFields:
    number: str
    product_id: int
    product: str
    agent: str
    currency: str


VERSION_FIELDS = ("number", "kind", "effective_date", "start_date", "end_date", "premium", "premium_change")


def _versions_by_policy(user, params, *, effective_by):
    """(policy fields, [versions in effect on `effective_by`]) per policy in scope, policy by policy.
    Business dates decide: a version recorded today for a date in the past counts from that date."""
    rows = (
        PolicyVersion.objects.filter(policy__in=policies_visible_to(user).values("pk"))
        .filter(_agent_filter(params, "policy__customer__agent"))
        .order_by("policy_id", "number")
        .values_list(
            "policy_id",
            "policy__number",
            "policy__product_id",
            "policy__product__name",
            "policy__customer__agent__full_name",
            "currency",
            *VERSION_FIELDS,
        )
        .iterator(chunk_size=CHUNK)
    )
    for _policy_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        group = list(group)
        versions = _in_effect([_Version(*row[6:]) for row in group], on=effective_by)
        if versions:
            yield _PolicyFields(*group[0][1:6]), versions


def _in_effect(versions, *, on):
    """The versions (in number order) in effect on day `on`: those effective by then, less the
    reinstatement that withdrew a scheduled cancellation not yet effective (it is dated before the
    cancellation it undoes, and alone it would give back a return that has not happened yet)."""
    kept, withdrawn = [], False
    for version in versions:
        future = version.effective_date > on
        if version.kind == PolicyVersion.Kind.CANCELLATION and future:
            withdrawn = True
        elif version.kind == PolicyVersion.Kind.REINSTATEMENT and withdrawn:
            withdrawn = False
        elif not future:
            kept.append(version)
    return kept


def policy_earnings(versions, *, until):
    """(written, earned, unearned) of one policy's versions for cover up to (not including) `until`.

    Written is what the versions charged net of returns; earned is the pro-rata share of the cover
    given so far, never more than written (a return can leave less written than the days earned
    before it); unearned is the rest, so earned + unearned = written always."""
    written = sum((version.premium_change for version in versions), ZERO)
    earned = max(ZERO, min(prorata_earned(versions, until=until), written))
    return written, earned, written - earned


def earned_premium(user, params):
    """Written, earned (pro rata by day through the date) and unearned premium per policy at a date,
    over the versions effective by then."""
    as_of = params["as_of"]
    day_after = as_of + timedelta(days=1)

    def rows():
        for policy, versions in _versions_by_policy(user, params, effective_by=as_of):
            yield (
                policy.number,
                policy.product,
                policy.agent,
                policy.currency,
                *policy_earnings(versions, until=day_after),
            )

    # A policy has a version effective by the date when its cover starts by then: every version shares
    # the term's start, and the first takes effect on it.
    count = (
        policies_visible_to(user)
        .filter(_agent_filter(params, "customer__agent"), current_version__start_date__lte=as_of)
        .count()
    )
    return ReportData(rows=rows(), total=count)


def collections(user, params):
    received = (
        payments_visible_to(user)
        .filter(
            direction=Payment.Direction.IN,
            status=Payment.Status.CONFIRMED,
            received_on__gte=params["from"],
            received_on__lte=params["to"],
        )
        .filter(_agent_filter(params, "account__customer__agent"))
        .order_by()
        .values("received_on", "method", "currency")
        .annotate(payments=Count("pk"), collected=Sum("amount"))
        .order_by("received_on", "method", "currency")
    )
    methods = dict(Payment.Method.choices)
    return _listed(
        (
            row["received_on"],
            str(methods.get(row["method"], row["method"])),
            row["currency"],
            row["payments"],
            row["collected"],
        )
        for row in received
    )


# An allocation made as its payment was recorded (in the same transaction, within this of it) dates
# from the payment's received day; one made later (spare credit applied) from when it was made.
WITH_ITS_PAYMENT = timedelta(minutes=1)


def paid_as_at(as_of):
    """What had been paid of an instalment (the outer query's row) on `as_of`: its allocations from
    payments received by then that had not been reversed by then, less credit applied only later."""
    day_after = _start_of(as_of + timedelta(days=1))
    return Coalesce(
        Subquery(
            PaymentAllocation.objects.filter(instalment=OuterRef("pk"), payment__received_on__lte=as_of)
            .filter(Q(payment__status=Payment.Status.CONFIRMED) | Q(payment__reversed_at__gte=day_after))
            .filter(Q(created_at__lt=day_after) | Q(created_at__lte=F("payment__created_at") + WITH_ITS_PAYMENT))
            .order_by()
            .values("instalment")
            .annotate(paid=Sum("amount"))
            .values("paid")
        ),
        ZERO,
        output_field=MONEY_FIELD,
    )


def receivables_ageing(user, params):
    """Instalments open on the date (amounts paid as at that date) per customer, agent and currency, by
    days overdue on the date. An instalment counts once its policy's cover has begun by the date (the
    business date of the version that scheduled it), as earned premium counts versions; its amount is
    today's, since a schedule keeps no history of its amounts."""
    as_of = params["as_of"]
    outstanding = F("amount") - F("paid")
    buckets = {
        "current": Q(due_date__gte=as_of),
        "days_1_30": Q(due_date__lt=as_of, due_date__gte=as_of - timedelta(days=30)),
        "days_31_60": Q(due_date__lt=as_of - timedelta(days=30), due_date__gte=as_of - timedelta(days=60)),
        "days_61_90": Q(due_date__lt=as_of - timedelta(days=60), due_date__gte=as_of - timedelta(days=90)),
        "days_90_plus": Q(due_date__lt=as_of - timedelta(days=90)),
    }
    group = (
        "account__customer__agent__full_name",
        "account__customer__agent_id",
        "account__customer__full_name",
        "account__customer__id_number",
        "account__customer_id",
        "currency",
    )
    open_instalments = (
        instalments_visible_to(user)
        .filter(policy_version__start_date__lte=as_of)
        .filter(_agent_filter(params, "account__customer__agent"))
        .annotate(paid=paid_as_at(as_of))
        .filter(amount__gt=F("paid"))
        .order_by()
        .values(*group)
        .annotate(
            # The id number tells namesakes apart.
            customer=Concat("account__customer__full_name", Value(" ("), "account__customer__id_number", Value(")")),
            **{
                name: Coalesce(Sum(outstanding, filter=condition), ZERO, output_field=MONEY_FIELD)
                for name, condition in buckets.items()
            },
            open_balance=Sum(outstanding, output_field=MONEY_FIELD),
        )
        .order_by(*group)
        # Exactly the report's columns, in order: PostgreSQL COPYs this query as the file.
        .values_list("customer", "account__customer__agent__full_name", "currency", *buckets, "open_balance")
    )
    return ReportData(rows=open_instalments.iterator(chunk_size=CHUNK), query=open_instalments)


OPEN_CLAIM = (Claim.Status.PENDING, Claim.Status.UNDER_REVIEW)
INCURRED_CLAIM = (Claim.Status.APPROVED, Claim.Status.PAID, Claim.Status.CLOSED)
# Every claim filed is open, approved or rejected: one closed with an approved amount was approved
# (and settled), one closed without any was turned down (rejected, or withdrawn before a decision).
APPROVED_CLAIM = Q(status__in=INCURRED_CLAIM, approved_amount__isnull=False)
REJECTED_CLAIM = Q(status=Claim.Status.REJECTED) | Q(status=Claim.Status.CLOSED, approved_amount__isnull=True)


def claims(user, params):
    today = timezone.localdate()
    in_range = (
        claims_visible_to(user)
        .filter(created_at__gte=_start_of(params["from"]), created_at__lt=_start_of(params["to"] + timedelta(days=1)))
        .filter(_agent_filter(params, "customer__agent"))
    )
    group = ("month", "policy__product_id", "currency")
    figures = (
        in_range.annotate(month=TruncMonth("created_at"))
        .order_by()
        .values(*group, "policy__product__name")
        .annotate(
            filed=Count("pk"),
            open=Count("pk", filter=Q(status__in=OPEN_CLAIM)),
            approved=Count("pk", filter=APPROVED_CLAIM),
            rejected=Count("pk", filter=REJECTED_CLAIM),
            incurred=Coalesce(
                Sum("approved_amount", filter=Q(status__in=INCURRED_CLAIM)), ZERO, output_field=MONEY_FIELD
            ),
        )
        .order_by("month", "policy__product__name", "policy__product_id", "currency")
    )
    open_ages = defaultdict(list)
    for month, product_id, currency, filed_at in (
        in_range.filter(status__in=OPEN_CLAIM)
        .annotate(month=TruncMonth("created_at"))
        .values_list(*group, "created_at")
        .iterator(chunk_size=CHUNK)
    ):
        open_ages[(month, product_id, currency)].append((today - timezone.localtime(filed_at).date()).days)
    paid = {
        (row["month"], row["policy__product_id"], row["currency"]): row["paid"]
        for row in ClaimPayout.objects.filter(status=ClaimPayout.Status.CONFIRMED, claim__in=in_range.values("pk"))
        .annotate(month=TruncMonth("claim__created_at"), policy__product_id=F("claim__policy__product_id"))
        .order_by()
        .values("month", "policy__product_id", "currency")
        .annotate(paid=Sum("amount"))
    }

    def rows():
        for row in figures:
            key = (row["month"], row["policy__product_id"], row["currency"])
            ages = open_ages.get(key)
            paid_amount = paid.get(key, ZERO)
            yield (
                timezone.localtime(row["month"]).date(),
                row["policy__product__name"],
                row["currency"],
                row["filed"],
                row["open"],
                row["approved"],
                row["rejected"],
                round(sum(ages) / len(ages)) if ages else None,
                row["incurred"],
                paid_amount,
                row["incurred"] - paid_amount,
            )

    return _listed(rows())


def loss_ratio(user, params):
    """Earned premium in [from, to] (earned through `to` less earned before `from`, over the versions
    effective by `to`) against claims approved for losses in that period, per product and currency."""
    start, end = params["from"], params["to"] + timedelta(days=1)
    earned = defaultdict(lambda: ZERO)
    names = {}
    for policy, versions in _versions_by_policy(user, params, effective_by=params["to"]):
        key = (policy.product_id, policy.currency)
        names[policy.product_id] = policy.product
        earned[key] += policy_earnings(versions, until=end)[1] - policy_earnings(versions, until=start)[1]
    incurred = {}
    for row in (
        claims_visible_to(user)
        .filter(status__in=INCURRED_CLAIM, approved_amount__isnull=False, loss_date__gte=start, loss_date__lt=end)
        .filter(_agent_filter(params, "customer__agent"))
        .order_by()
        .values("policy__product_id", "policy__product__name", "currency")
        .annotate(incurred=Sum("approved_amount"))
    ):
        names[row["policy__product_id"]] = row["policy__product__name"]
        incurred[(row["policy__product_id"], row["currency"])] = row["incurred"]
    rows = []
    for product_id, currency in sorted(set(earned) | set(incurred), key=lambda key: (names[key[0]], *key)):
        premium, losses = earned.get((product_id, currency), ZERO), incurred.get((product_id, currency), ZERO)
        ratio = (losses / premium).quantize(Decimal("0.0001")) if premium > 0 else None
        rows.append((names[product_id], currency, premium, losses, ratio))
    return ReportData(rows=rows, total=len(rows))


def payouts(user, params):
    statuses = dict(ClaimPayout.Status.choices)
    chosen = (
        payouts_visible_to(user)
        .filter(prepared_at__gte=_start_of(params["from"]), prepared_at__lt=_start_of(params["to"] + timedelta(days=1)))
        .order_by("prepared_at", "pk")
    )

    def rows():
        for payout in chosen.iterator(chunk_size=CHUNK):
            paid = payout.payment.amount if payout.payment_id else None
            difference = (payout.amount - paid) if paid is not None else None
            yield (
                payout.number,
                payout.claim.number,
                str(statuses[payout.status]),
                payout.currency,
                payout.amount,
                payout.prepared_by.full_name,
                payout.prepared_at,
                payout.confirmed_by.full_name if payout.confirmed_by_id else "",
                payout.confirmed_at,
                paid,
                difference,
            )

    return ReportData(rows=rows(), total=chosen.count())


def _month_before(period):
    return (period - timedelta(days=1)).replace(day=1)


def bordereaux(user, params):
    """Each bordereau's stored totals (kept by its imports) per group and currency against the same
    group's figure in the cedant's previous period; a group the previous period had and this one has
    not shows with 0, so its drop is in the difference. The rows its imports rejected are counted
    once per cedant, period and kind, on that bordereau's first row (the others 0), so they add up."""
    start, end = params["from"].replace(day=1), params["to"]
    kinds = {Kind.RISK: ("gross_premium", "class_of_business"), Kind.CLAIMS: ("total_incurred", "claim_status")}
    rows = []
    for kind, (amount_field, group_field) in kinds.items():
        lines = bordereau_totals_visible_to(user, kind).select_related("source")
        figures = {}
        names = {}
        for line in lines.filter(period__gte=_month_before(start), period__lte=end):
            figures[(line.source_id, line.period, getattr(line, group_field), line.currency)] = line
            names[line.source_id] = line.source.name
        rejected = {}
        for row in (
            import_jobs_visible_to(user)
            .filter(kind=kind, status=ImportJob.Status.SUCCEEDED, period__gte=start, period__lte=end)
            .order_by()
            .values("source_id", "source__name", "period")
            .annotate(rejected=Sum("rows_rejected"))
        ):
            rejected[(row["source_id"], row["period"])] = row["rejected"]
            names[row["source_id"]] = row["source__name"]
        groups = defaultdict(set)
        for source_id, period, group, currency in figures:
            groups[(source_id, period)].add((group, currency))
        bordereaux_in_range = {key for key in groups if key[1] >= start} | set(rejected)
        for source_id, period in sorted(bordereaux_in_range, key=lambda key: (names[key[0]], *key)):
            before = _month_before(period)
            unreported = rejected.get((source_id, period), 0)
            # A bordereau whose every row was rejected has no group: one blank row still counts them.
            shown = sorted(groups[(source_id, period)] | groups[(source_id, before)]) or [("", "")]
            for group, currency in shown:
                line = figures.get((source_id, period, group, currency))
                previous_line = figures.get((source_id, before, group, currency))
                amount = getattr(line, amount_field) if line else ZERO
                previous = getattr(previous_line, amount_field) if previous_line else ZERO
                rows.append(
                    (
                        names[source_id],
                        period,
                        str(KIND_LABELS[kind]),
                        group,
                        currency,
                        line.rows if line else 0,
                        unreported,
                        amount,
                        previous,
                        amount - previous,
                    )
                )
                unreported = 0
    return ReportData(rows=rows, total=len(rows))


LOAN_BUCKETS = {
    ArrearsBucket.CURRENT: "current",
    ArrearsBucket.DAYS_1_30: "days_1_30",
    ArrearsBucket.DAYS_31_60: "days_31_60",
    ArrearsBucket.DAYS_61_90: "days_61_90",
    ArrearsBucket.DAYS_90_PLUS: "days_90_plus",
}


def loans(user, params):
    """Per product and currency: the loans disbursed and the repayments received in [from, to], and the
    portfolio as it stands: the running loans, what they still owe (principal, interest and fees) and
    that amount split by the arrears bucket each loan is in (the loans domain's own ageing)."""
    scoped = loans_visible_to(user).filter(_agent_filter(params, "customer__agent"))
    start, end = params["from"], params["to"]
    disbursed = {
        (row["product__name"], row["currency"]): row
        for row in scoped.filter(disbursed_on__gte=start, disbursed_on__lte=end)
        .order_by()
        .values("product__name", "currency")
        .annotate(loans=Count("pk"), amount=Sum("principal"))
    }
    repaid = {
        (row["loan__product__name"], row["loan__currency"]): row["amount"]
        for row in LoanRepayment.objects.filter(
            loan__in=scoped.values("pk"), received_on__gte=start, received_on__lte=end
        )
        .order_by()
        .values("loan__product__name", "loan__currency")
        # What a repayment left over stays as the customer's credit: it repaid nothing yet.
        .annotate(amount=Sum(F("amount") - F("credited"), output_field=MONEY_FIELD))
    }
    running = scoped.filter(account_state=AccountState.ACTIVE)
    active = {
        (row["product__name"], row["currency"]): row["loans"]
        for row in running.order_by().values("product__name", "currency").annotate(loans=Count("pk"))
    }
    owed = F("principal") + F("interest") + F("fee") - F("principal_paid") - F("interest_paid") - F("fee_paid")
    buckets = defaultdict(lambda: dict.fromkeys(LOAN_BUCKETS.values(), ZERO))
    for row in (
        LoanInstalment.objects.filter(loan__in=running.values("pk"))
        .order_by()
        .values("loan__product__name", "loan__currency", "loan__arrears_bucket")
        .annotate(owed=Sum(owed, output_field=MONEY_FIELD))
    ):
        key = (row["loan__product__name"], row["loan__currency"])
        buckets[key][LOAN_BUCKETS[row["loan__arrears_bucket"]]] += row["owed"]
    rows = []
    for key in sorted(set(disbursed) | set(repaid) | set(active) | set(buckets)):
        outstanding = buckets[key]
        rows.append(
            (
                *key,
                active.get(key, 0),
                disbursed[key]["loans"] if key in disbursed else 0,
                disbursed[key]["amount"] if key in disbursed else ZERO,
                repaid.get(key, ZERO),
                sum(outstanding.values(), ZERO),
                *outstanding.values(),
            )
        )
    return ReportData(rows=rows, total=len(rows))


def audit_extract(user, params):
    events = audit_events_visible_to(user).filter(
        occurred_at__gte=_start_of(params["from"]), occurred_at__lt=_start_of(params["to"] + timedelta(days=1))
    )
    if params.get("actor"):
        events = events.filter(actor_label__iexact=params["actor"])
    if params.get("action"):
        events = events.filter(action=params["action"])
    events = events.order_by("occurred_at", "id")
    query = events.values_list(
        "occurred_at", "actor_label", "action", "target_type", "target_id", "target_label", "correlation_id"
    )
    return ReportData(rows=query.iterator(chunk_size=CHUNK), total=events.count(), query=query)
