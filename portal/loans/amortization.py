"""The repayment schedule of a loan: constant monthly instalments on the declining balance (French
amortization), in Decimal.

Each month's interest is the balance times the monthly rate (the annual nominal rate over twelve),
rounded half-up to the cent; the principal repaid is the instalment minus that interest. Rounding
leaves a few cents over or under at the end, so the last instalment repays whatever balance is left:
the principal column always sums exactly to the amount lent.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from portal.core.dates import add_months
from portal.core.money import CENT, ZERO

MONTHS_A_YEAR = 12


@dataclass(frozen=True)
class ScheduledInstalment:
    sequence: int
    due_date: date | None
    principal: Decimal
    interest: Decimal
    balance_after: Decimal

    @property
    def amount(self):
        return self.principal + self.interest


def monthly_rate(annual_rate_pct):
    """The monthly rate as an exact fraction: a twelfth of the annual nominal rate (24.17 % has no finite
    decimal twelfth, so a Decimal would round it before the money is rounded)."""
    return Fraction(Decimal(annual_rate_pct)) / 100 / MONTHS_A_YEAR


def _cents(exact):
    """An exact amount (a Fraction) rounded half-up to the cent, once."""
    with localcontext() as context:
        context.prec = 60
        return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def instalment_amount(principal, annual_rate_pct, tenure_months):
    """The constant monthly instalment, P·r / (1 - (1 + r)^-n), rounded half-up to the cent."""
    principal, rate = Fraction(Decimal(principal)), monthly_rate(annual_rate_pct)
    if tenure_months < 1:
        raise ValueError("a loan runs at least one month")
    if rate == 0:
        return _cents(principal / tenure_months)
    return _cents(principal * rate / (1 - (1 + rate) ** -tenure_months))


def schedule(principal, annual_rate_pct, tenure_months, *, first_due=None):
    """The instalments of a loan of `principal` over `tenure_months`; due monthly from `first_due`."""
    principal, rate = Decimal(principal), monthly_rate(annual_rate_pct)
    payment = instalment_amount(principal, annual_rate_pct, tenure_months)
    balance, rows = principal, []
    for sequence in range(1, tenure_months + 1):
        interest = _cents(Fraction(balance) * rate)
        repaid = balance if sequence == tenure_months else min(payment - interest, balance)
        balance -= repaid
        rows.append(
            ScheduledInstalment(
                sequence=sequence,
                due_date=add_months(first_due, sequence - 1) if first_due else None,
                principal=repaid,
                interest=interest,
                balance_after=balance,
            )
        )
    return rows


def total_interest(rows):
    return sum((row.interest for row in rows), ZERO)
