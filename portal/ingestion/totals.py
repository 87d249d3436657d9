"""A bordereau's totals (a source and period) per currency and class of business (risk) or claim
status (claims), as the rows page shows them: kept in RiskTotal / ClaimTotal by the import that
last changed the bordereau, in its transaction, instead of summed over all the rows on each visit."""

from .fields import Kind
from .models import ClaimTotal, RiskTotal

# kind -> the model, the column each line is for beside the currency, and each sum (SQL over a row `t`).
TOTALS = {
    Kind.RISK: (
        RiskTotal,
        RiskTotal.group,
        {"sum_insured": "t.sum_insured", "gross_premium": "t.gross_premium", "net_premium": "t.net_premium"},
    ),
    Kind.CLAIMS: (
        ClaimTotal,
        ClaimTotal.group,
        {
            "paid": "t.paid_indemnity + t.paid_fees",
            "reserves": "t.reserve_indemnity + t.reserve_fees",
            "total_incurred": "t.total_incurred",
        },
    ),
}


def less(lines, taken):
    """`lines` without the rows of `taken`: both {(currency, group): [rows, sum, ...]}."""
    left = {key: list(figures) for key, figures in lines.items()}
    for key, figures in taken.items():
        left[key] = [whole - part for whole, part in zip(left[key], figures, strict=True)]
    return {key: figures for key, figures in left.items() if figures[0]}


def store(kind, source_id, period, lines):
    """Make `lines` the bordereau's totals; inside the transaction that changed its rows."""
    model, group, sums = TOTALS[kind]
    model.objects.filter(source_id=source_id, period=period).delete()
    model.objects.bulk_create(
        model(
            source_id=source_id,
            period=period,
            currency=currency,
            rows=rows,
            **{group: value},
            **dict(zip(sums, figures, strict=True)),
        )
        for (currency, value), (rows, *figures) in lines.items()
    )
