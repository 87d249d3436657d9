"""The bordereau rules an analyst reads: what a row must satisfy beyond each cell's own checks.

Each rule is (field, the value shown with the error, the message, the SQL condition that breaks it),
written as SQL over the typed row, so that a million rows are checked by one statement. Amounts are
compared in whole cents within a tolerance, so that a sender's rounding is not an error.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from .sql import money_text, quote

# Net premium and total incurred may differ from the sum of their parts by max(0.01, 0.05 % of the base).
NET_TOLERANCE = Decimal("0.01")
NET_TOLERANCE_RATE = Decimal("0.0005")
# The amounts a claim's total incurred is the sum of.
CLAIM_AMOUNTS = ("paid_indemnity", "paid_fees", "previously_paid", "reserve_indemnity", "reserve_fees")


def beyond_tolerance(actual, expected, base):
    """|actual - expected| > max(0.01, base x 0.05 %), compared in whole cents so that SQLite's
    floating point and PostgreSQL's numeric agree on the edge."""
    rate, floor = NET_TOLERANCE_RATE, NET_TOLERANCE
    tolerance = f"(CASE WHEN {base} * {rate} > {floor} THEN {base} * {rate} ELSE {floor} END)"
    return f"ROUND(ABS({actual} - {expected}) * 100) > ROUND({tolerance} * 100)"


def risk_rules():
    expected = "(gross_premium - gross_premium * commission_pct / 100.0 - COALESCE(total_taxes, 0))"
    net_message = _("Should be gross - commission - taxes = ")
    return [
        (
            "expiry_date",
            "CAST(expiry_date AS TEXT)",
            quote(_("Must be after the inception date")),
            "expiry_date <= inception_date",
        ),
        (
            "net_premium",
            money_text("net_premium"),
            f"{quote(net_message)} || {money_text(expected)}",
            # A return premium's amounts are negative: its tolerance is that of their size.
            beyond_tolerance("net_premium", expected, "ABS(gross_premium)"),
        ),
    ]


def claim_rules(today):
    parts = " + ".join(f"COALESCE({name}, 0)" for name in CLAIM_AMOUNTS)
    incurred_message = _("Should be paid + previously paid + reserves = ")
    return [
        ("date_of_loss", "CAST(date_of_loss AS TEXT)", quote(_("Is in the future")), f"date_of_loss > '{today}'"),
        (
            "date_first_advised",
            "CAST(date_first_advised AS TEXT)",
            quote(_("Is before the date of loss")),
            "date_first_advised IS NOT NULL AND date_first_advised < date_of_loss",
        ),
        (
            "total_incurred",
            money_text("total_incurred"),
            f"{quote(incurred_message)} || {money_text(f'({parts})')}",
            beyond_tolerance("total_incurred", f"({parts})", f"({parts})"),
        ),
    ]
