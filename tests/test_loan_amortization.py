"""The loan schedule: constant instalment on the declining balance, interest half-up to the cent,
the last instalment taking the remainder so the principal sums exactly to the amount lent."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.loans.amortization import instalment_amount, schedule

amounts = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("5000000000.00"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("60"), places=2)
tenures = st.integers(min_value=1, max_value=360)


def annuity_to_the_cent(principal, annual_rate_pct, months):
    """The textbook annuity P·r / (1 - (1 + r)^-n), computed exactly in fractions, then rounded half-up."""
    principal, rate = Fraction(principal), Fraction(annual_rate_pct) / 1200
    exact = principal / months if rate == 0 else principal * rate / (1 - (1 + rate) ** -months)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_textbook_example_of_a_thousand_at_twelve_percent_over_a_year_pays_88_85_a_month():
    assert instalment_amount(Decimal("1000"), Decimal("12"), 12) == Decimal("88.85")


def test_an_instalment_exactly_on_half_a_cent_rounds_up():
    # 500 at 24.18 % for one month is 500 x 1.02015 = 510.075 exactly: half-up gives 510.08.
    assert instalment_amount(Decimal("500.00"), Decimal("24.18"), 1) == Decimal("510.08")
    assert schedule(Decimal("500.00"), Decimal("24.18"), 1)[0].interest == Decimal("10.08")


def test_an_interest_free_loan_repays_equal_parts_and_the_last_takes_the_odd_cents():
    rows = schedule(Decimal("100.00"), Decimal("0"), 3)
    assert [row.principal for row in rows] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert all(row.interest == 0 for row in rows)


def test_instalments_fall_due_monthly_from_the_first_due_date_keeping_month_ends():
    rows = schedule(Decimal("1000"), Decimal("12"), 3, first_due=date(2026, 1, 31))
    assert [row.due_date for row in rows] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


@settings(max_examples=300, deadline=None)
@given(principal=amounts, rate=rates, months=tenures)
def test_the_principal_repaid_sums_exactly_to_the_amount_lent(principal, rate, months):
    rows = schedule(principal, rate, months)
    assert sum(row.principal for row in rows) == principal
    assert rows[-1].balance_after == 0
    assert all(row.principal >= 0 and row.interest >= 0 for row in rows)


@settings(max_examples=300, deadline=None)
@given(principal=amounts, rate=rates, months=tenures)
def test_each_months_interest_is_the_declining_balance_times_the_monthly_rate_half_up_to_the_cent(
    principal, rate, months
):
    balance = principal
    for row in schedule(principal, rate, months):
        exact = Fraction(balance) * Fraction(rate) / 1200
        expected = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert row.interest == expected
        balance -= row.principal
        assert row.balance_after == balance


@settings(max_examples=300, deadline=None)
@given(principal=amounts, rate=rates, months=tenures)
def test_the_instalment_agrees_with_the_annuity_formula_to_the_cent_and_only_the_last_one_differs(
    principal, rate, months
):
    payment = instalment_amount(principal, rate, months)
    assert payment == annuity_to_the_cent(principal, rate, months)
    # The instalment's rounding and each month's interest rounding are each at most half a cent, and
    # what is left over in the balance grows with interest until the last instalment settles it.
    growth = 1 + rate / 1200
    drift = Decimal("0.01") * sum(growth**k for k in range(months))
    # On a tiny loan at a high rate over decades that drift is more than an instalment, and the
    # balance runs out early; every real loan is far from it (the products' minimum amounts).
    assume(drift < payment / 2)
    rows = schedule(principal, rate, months)
    assert all(row.amount == payment for row in rows[:-1])
    assert abs(rows[-1].amount - payment) <= drift
