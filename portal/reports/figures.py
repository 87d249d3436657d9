"""The dashboards' figures, precomputed: one DashboardFigure per agent's book and one for the whole
company, recomputed by a periodic task (and, debounced, after the writes that move them) with a
handful of grouped queries, so that no dashboard view counts a million policies.

A figure row's value: policies by status, open quotes, renewals due in 30 days, customers, claims
by status, open claims by age, claims approved this month per currency, loans in progress by the task
they wait on, and per currency the active loans, their principal outstanding and the part in arrears.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.claims.models import Claim, ClaimTransition
from portal.claims.selectors import AGEING_BUCKETS
from portal.core.money import ZERO
from portal.customers.models import Customer
from portal.loans.models import AccountState, ArrearsBucket, Loan, TaskKind
from portal.policies.models import Policy, Quote
from portal.policies.selectors import ending_soon_q

from .models import DashboardFigure

BOOK = "book"
EVERYONE = "all"


def agent_scope(agent_id):
    return f"agent:{agent_id}"


def ageing_label(low, high):
    return f"{low}-{high}" if high is not None else f"{low}+"


AGEING_LABELS = [ageing_label(low, high) for low, high in AGEING_BUCKETS]


def _empty():
    return {
        "policies": dict.fromkeys(Policy.Status.values, 0),
        "open_quotes": 0,
        "renewals_due": 0,
        "customers": 0,
        "claims": dict.fromkeys(Claim.Status.values, 0),
        "claims_ageing": {ageing_label(low, high): 0 for low, high in AGEING_BUCKETS},
        "approved_this_month": {},
        "loan_pipeline": dict.fromkeys(TaskKind.values, 0),
        "loan_portfolio": {},
    }


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def merge(values):
    """The figures of several books added together (a supervisor's teams, the whole company)."""
    merged = _empty()
    for value in values:
        for key in ("open_quotes", "renewals_due", "customers"):
            merged[key] += value[key]
        for key in ("policies", "claims", "claims_ageing"):
            for name, count in value[key].items():
                merged[key][name] = merged[key].get(name, 0) + count
        for currency, amount in value["approved_this_month"].items():
            merged["approved_this_month"][currency] = str(
                Decimal(merged["approved_this_month"].get(currency, "0")) + Decimal(amount)
            )
        # .get: a row refreshed before the loans figures existed has none until the next refresh.
        for kind, count in value.get("loan_pipeline", {}).items():
            merged["loan_pipeline"][kind] = merged["loan_pipeline"].get(kind, 0) + count
        for currency, row in value.get("loan_portfolio", {}).items():
            into = merged["loan_portfolio"].setdefault(currency, {"loans": 0, "outstanding": "0", "in_arrears": "0"})
            into["loans"] += row["loans"]
            for key in ("outstanding", "in_arrears"):
                into[key] = str(Decimal(into[key]) + Decimal(row[key]))
    return merged


def compute_book_figures(*, today=None, now=None):
    """{agent id: figures} for every agent with a book, from grouped queries over each table once."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    books = defaultdict(_empty)
    for agent_id, status, count in (
        Policy.objects.filter(current_version__isnull=False)
        .order_by()
        .values_list("customer__agent_id", "status")
        .annotate(n=Count("pk"))
    ):
        books[agent_id]["policies"][status] = count
    for agent_id, count in (
        Quote.objects.filter(status__in=Quote.OPEN).order_by().values_list("customer__agent_id").annotate(n=Count("pk"))
    ):
        books[agent_id]["open_quotes"] = count
    for agent_id, count in (
        Policy.objects.filter(ending_soon_q(today=today, days=30), current_version__isnull=False)
        .order_by()
        .values_list("customer__agent_id")
        .annotate(n=Count("pk"))
    ):
        books[agent_id]["renewals_due"] = count
    for agent_id, count in Customer.objects.order_by().values_list("agent_id").annotate(n=Count("pk")):
        books[agent_id]["customers"] = count
    ageing = {}
    for low, high in AGEING_BUCKETS:
        window = Q(created_at__lte=now - timedelta(days=low), status__in=Claim.OPEN)
        if high is not None:
            window &= Q(created_at__gt=now - timedelta(days=high + 1))
        ageing[ageing_label(low, high)] = Count("pk", filter=window)
    claims = (
        Claim.objects.order_by()
        .values("customer__agent_id")
        .annotate(**{status.lower(): Count("pk", filter=Q(status=status)) for status in Claim.Status.values}, **ageing)
    )
    for row in claims:
        book = books[row["customer__agent_id"]]
        book["claims"] = {status: row[status.lower()] for status in Claim.Status.values}
        book["claims_ageing"] = {label: row[label] for label in ageing}
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    for agent_id, currency, amount in (
        ClaimTransition.objects.filter(
            action="approve", created_at__gte=_start_of(month_start), created_at__lt=_start_of(next_month)
        )
        .order_by()
        .values_list("claim__customer__agent_id", "claim__currency")
        .annotate(total=Sum("amount"))
    ):
        books[agent_id]["approved_this_month"][currency] = str(amount)
    _loan_figures(books)
    for book in books.values():
        book["month"] = month_start.isoformat()
    return books


def _loan_figures(books):
    """The loans card's figures per book, as portal.loans.selectors' loan_pipeline and loan_portfolio
    count them live: one grouped query each."""
    for agent_id, kind, count in (
        Loan.objects.filter(status=Loan.Status.IN_PROGRESS)
        .order_by()
        .values_list("customer__agent_id", "current_task__kind")
        .annotate(n=Count("pk"))
    ):
        if kind is not None:
            books[agent_id]["loan_pipeline"][kind] = count
    owed = F("instalments__principal") - F("instalments__principal_paid")
    for agent_id, currency, loans, outstanding, in_arrears in (
        Loan.objects.filter(account_state=AccountState.ACTIVE)
        .order_by()
        .values_list("customer__agent_id", "currency")
        .annotate(
            loans=Count("pk", distinct=True),
            outstanding=Coalesce(Sum(owed), ZERO, output_field=DecimalField()),
            in_arrears=Coalesce(
                Sum(owed, filter=~Q(arrears_bucket=ArrearsBucket.CURRENT)), ZERO, output_field=DecimalField()
            ),
        )
    ):
        books[agent_id]["loan_portfolio"][currency] = {
            "loans": loans,
            "outstanding": str(outstanding),
            "in_arrears": str(in_arrears),
        }


def dashboard_figures_refresh(*, today=None):
    """Recompute every book's figures and the company's; returns how many rows were written."""
    now = timezone.now()
    books = compute_book_figures(today=today, now=now)
    company = merge(books.values())
    company["month"] = (today or timezone.localdate()).replace(day=1).isoformat()
    rows = [
        DashboardFigure(scope=agent_scope(agent_id), key=BOOK, value=value, computed_at=now)
        for agent_id, value in books.items()
    ]
    rows.append(DashboardFigure(scope=EVERYONE, key=BOOK, value=company, computed_at=now))
    with transaction.atomic():
        DashboardFigure.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["scope", "key"], update_fields=["value", "computed_at"]
        )
        # A book that emptied since the last refresh must not keep its old figures.
        DashboardFigure.objects.filter(key=BOOK, computed_at__lt=now).delete()
    return len(rows)
