"""What the role dashboards show of the book, the claims and the loans, read from the precomputed figures
(figures.py) in two or three small queries whatever the size of the book, with the time they were
computed. Until the first refresh has run, the live counts of the domains' selectors answer."""

from decimal import Decimal

from portal.accounts.models import Role
from portal.accounts.selectors import SEES_EVERY_BOOK
from portal.claims.models import Claim
from portal.claims.selectors import STATUS_COLOURS as CLAIM_COLOURS
from portal.claims.selectors import claim_card_figures
from portal.loans.selectors import loan_card, loan_card_figures, pipeline_steps
from portal.policies.models import Policy
from portal.policies.selectors import STATUS_COLOURS as POLICY_COLOURS
from portal.policies.selectors import policy_figures

from .figures import AGEING_LABELS, BOOK, EVERYONE, agent_scope, merge
from .models import DashboardFigure
from .sources import book_owners_in_scope


def precomputed_book(user):
    """(figures, computed_at) of `user`'s scope, or None when no refresh has run yet."""
    if user.role in SEES_EVERY_BOOK:
        row = DashboardFigure.objects.filter(scope=EVERYONE, key=BOOK).values_list("value", "computed_at").first()
        return row
    if user.role not in (Role.SUPERVISOR, Role.AGENT):
        return None
    agents = book_owners_in_scope(user).values_list("pk", flat=True)
    rows = list(
        DashboardFigure.objects.filter(scope__in=[agent_scope(pk) for pk in agents], key=BOOK).values_list(
            "value", "computed_at"
        )
    )
    if rows:
        return merge(value for value, _at in rows), min(at for _value, at in rows)
    # An empty book has no row of its own: the company's row says when the last refresh ran.
    company = DashboardFigure.objects.filter(scope=EVERYONE, key=BOOK).values_list("computed_at", flat=True).first()
    return (merge([]), company) if company else None


def book_card(user, precomputed):
    if precomputed is None:
        return policy_figures(user)
    figures, computed_at = precomputed
    counts = {status.lower(): figures["policies"].get(status, 0) for status in Policy.Status.values}
    return {
        **counts,
        "total": sum(counts.values()),
        "open_quotes": figures["open_quotes"],
        "renewals_due": figures["renewals_due"],
        "customers": figures["customers"],
        "chart": {
            "labels": [str(label) for label in Policy.Status.labels],
            "values": [counts[status.lower()] for status in Policy.Status.values],
            "colors": [POLICY_COLOURS[status] for status in Policy.Status.values],
        },
        "computed_at": computed_at,
    }


def claims_card(user, precomputed, *, month):
    if precomputed is None:
        return claim_card_figures(user)
    figures, computed_at = precomputed
    counts = {status: figures["claims"].get(status, 0) for status in Claim.Status.values}
    approved = figures["approved_this_month"] if figures.get("month", month) == month else {}
    return {
        "by_status": [(status, label, counts[status]) for status, label in Claim.Status.choices],
        # jsonb keeps keys in its own order: the buckets' order comes from their definition.
        "ageing": [(label, figures["claims_ageing"].get(label, 0)) for label in AGEING_LABELS],
        "open": sum(counts[status] for status in Claim.OPEN),
        "approved_this_month": [(currency, Decimal(amount)) for currency, amount in sorted(approved.items())],
        "chart": {
            "labels": [str(label) for label in Claim.Status.labels],
            "values": [counts[status] for status in Claim.Status.values],
            "colors": [CLAIM_COLOURS[status] for status in Claim.Status.values],
        },
        "total": sum(counts.values()),
        "computed_at": computed_at,
    }


def loans_card(user, precomputed):
    if precomputed is None:
        return loan_card_figures(user)
    figures, computed_at = precomputed
    portfolio = [
        {
            "currency": currency,
            "loans": row["loans"],
            "outstanding": Decimal(row["outstanding"]),
            "in_arrears": Decimal(row["in_arrears"]),
        }
        for currency, row in sorted(figures.get("loan_portfolio", {}).items())
    ]
    return {**loan_card(pipeline_steps(figures.get("loan_pipeline", {})), portfolio), "computed_at": computed_at}
