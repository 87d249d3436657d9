"""Premium computation: declared inputs and product factors in, a premium with its breakdown out.

Every line is rounded half-up to the cent once, and each total is the sum of the rounded lines
above it, so the breakdown a customer sees always adds up.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.core.money import ZERO, format_money, round_money

from .models import RatingRule

PER_MILLE = Decimal(1000)
HUNDRED = Decimal(100)
MONTHS_PER_YEAR = Decimal(12)


@dataclass(frozen=True)
class Pricing:
    currency: str
    coverages: list = field(default_factory=list)
    factors: list = field(default_factory=list)
    risk_premium: Decimal = ZERO
    net_premium: Decimal = ZERO
    minimum_applied: bool = False
    expense_loading: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    expense_loading_pct: Decimal = ZERO
    tax_pct: Decimal = ZERO

    def as_breakdown(self):
        """The JSON a quote or policy version keeps: exactly what was shown, amounts as strings."""
        return {
            "currency": self.currency,
            "coverages": [
                {**line, "limit": str(line["limit"]), "premium": str(line["premium"])} for line in self.coverages
            ],
            "factors": [{**factor, "multiplier": str(factor["multiplier"])} for factor in self.factors],
            "risk_premium": str(self.risk_premium),
            "net_premium": str(self.net_premium),
            "minimum_applied": self.minimum_applied,
            "expense_loading_pct": str(self.expense_loading_pct),
            "expense_loading": str(self.expense_loading),
            "tax_pct": str(self.tax_pct),
            "tax": str(self.tax),
            "total": str(self.total),
        }


def _band(rules, factor, value):
    for rule in rules:
        if rule.factor == factor and rule.low <= value <= rule.high:
            return rule
    return None


def price(*, product, sum_insured, coverage_codes, insured_age=None, coverages=None, rules=None, term_months=None):
    """Price `product` for the declared inputs; raise ValidationError naming the input that is wrong.

    `coverages` and `rules` may be passed already loaded (the HTMX re-pricing form does) to save
    the queries; otherwise they are read from the product. `term_months` is the product's term
    unless given: an endorsement prices the rest of a policy's own term, whatever the product's is now.
    """
    term_months = term_months or product.term_months
    coverages = list(product.coverages.all()) if coverages is None else coverages
    rules = list(product.rating_rules.all()) if rules is None else rules
    errors = {}
    try:
        sum_insured = Decimal(sum_insured)
    except (TypeError, ArithmeticError, ValueError):
        errors["sum_insured"] = _("Enter the sum insured as a number.")
    else:
        if not sum_insured.is_finite() or sum_insured <= 0:
            errors["sum_insured"] = _("The sum insured must be more than zero.")
        elif not product.min_sum_insured <= sum_insured <= product.max_sum_insured:
            errors["sum_insured"] = _("For %(product)s the sum insured goes from %(low)s to %(high)s.") % {
                "product": product.name,
                "low": format_money(product.min_sum_insured, product.currency),
                "high": format_money(product.max_sum_insured, product.currency),
            }
    if product.requires_age:
        if insured_age is None:
            errors["insured_age"] = _("This product is rated by age: enter the insured's age or birth date.")
        elif not product.min_age <= insured_age <= product.max_age:
            errors["insured_age"] = _("%(product)s insures people aged %(low)s to %(high)s.") % {
                "product": product.name,
                "low": product.min_age,
                "high": product.max_age,
            }
    by_code = {coverage.code: coverage for coverage in coverages}
    chosen = set(coverage_codes or ())
    unknown = sorted(chosen - set(by_code))
    if unknown:
        errors["coverage_codes"] = _("%(product)s has no coverage %(codes)s.") % {
            "product": product.name,
            "codes": ", ".join(unknown),
        }
    chosen |= {coverage.code for coverage in coverages if coverage.is_mandatory}
    if not chosen and "coverage_codes" not in errors:
        errors["coverage_codes"] = _("Choose at least one coverage.")
    if errors:
        raise ValidationError(errors)

    # Multiply first and divide once, so an exact half cent rounds up as promised.
    per_term = PER_MILLE * MONTHS_PER_YEAR
    lines = []
    for coverage in coverages:
        if coverage.code not in chosen:
            continue
        limit = round_money(sum_insured * coverage.limit_pct / HUNDRED)
        lines.append(
            {
                "code": coverage.code,
                "name": coverage.name,
                "limit": limit,
                "deductible_pct": str(coverage.deductible_pct),
                "deductible_min": str(coverage.deductible_min),
                "rate_per_mille": str(coverage.rate_per_mille),
                "premium": round_money(limit * coverage.rate_per_mille * term_months / per_term),
            }
        )
    risk_premium = sum((line["premium"] for line in lines), ZERO)

    factors = []
    inputs = [(RatingRule.Factor.SUM_INSURED, sum_insured)]
    if product.requires_age:
        inputs.insert(0, (RatingRule.Factor.AGE, Decimal(insured_age)))
    multiplier = Decimal(1)
    for factor, value in inputs:
        rule = _band(rules, factor, value)
        if rule is not None:
            factors.append({"factor": factor, "label": rule.label, "multiplier": rule.multiplier})
            multiplier *= rule.multiplier
    net = round_money(risk_premium * multiplier)
    minimum_applied = net < product.min_premium
    if minimum_applied:
        net = round_money(product.min_premium)
    loading = round_money(net * product.expense_loading_pct / HUNDRED)
    tax = round_money((net + loading) * product.tax_pct / HUNDRED)
    return Pricing(
        currency=product.currency,
        coverages=lines,
        factors=factors,
        risk_premium=risk_premium,
        net_premium=net,
        minimum_applied=minimum_applied,
        expense_loading_pct=product.expense_loading_pct,
        expense_loading=loading,
        tax_pct=product.tax_pct,
        tax=tax,
        total=net + loading + tax,
    )
