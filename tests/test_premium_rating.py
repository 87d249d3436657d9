"""Premium computation (rating.price): table-driven, with products built in the test.

Most tables price unsaved Product/Coverage/RatingRule objects passed as `coverages=`/`rules=`, so
they never touch the database; the last tests price the factory product read from the database.
"""

import random
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError

from portal.policies.models import Coverage, Product, RatingRule
from portal.policies.rating import price

from .factories import ProductFactory

CENT = Decimal("0.01")


def make_product(**fields):
    values = {
        "code": "TEST",
        "name": "Test product",
        "line": "AUTO",
        "currency": "COP",
        "term_months": 12,
        "min_sum_insured": Decimal("0"),
        "max_sum_insured": Decimal("1000000000"),
        "requires_age": False,
        "min_age": 18,
        "max_age": 75,
        "expense_loading_pct": Decimal("0"),
        "tax_pct": Decimal("0"),
        "min_premium": Decimal("0"),
    }
    values.update(fields)
    return Product(**values)


def make_coverage(product, code, rate, *, limit_pct="100", mandatory=False, position=0):
    return Coverage(
        product=product,
        code=code,
        name=f"Coverage {code}",
        limit_pct=Decimal(limit_pct),
        deductible_pct=Decimal("0"),
        deductible_min=Decimal("0"),
        rate_per_mille=Decimal(rate),
        is_mandatory=mandatory,
        position=position,
    )


def make_rule(product, factor, low, high, multiplier, label):
    return RatingRule(
        product=product,
        factor=factor,
        low=Decimal(low),
        high=Decimal(high),
        multiplier=Decimal(multiplier),
        label=label,
    )


def exact_half_up(value):
    """A Fraction rounded half-up to the cent: the rule written out without Decimal's context precision."""
    cents = value * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole) / 100


def has_two_places(amount):
    return isinstance(amount, Decimal) and amount.as_tuple().exponent == -2


# --- coverage lines: limit = sum insured x limit %, premium = limit x rate per mille x term / 12 -------------


COVERAGE_LINES = [
    pytest.param("100000000", "100", "12", 12, "100000000.00", "1200000.00", id="full limit, 12 per mille, annual"),
    pytest.param("100000000", "50", "20", 12, "50000000.00", "1000000.00", id="limit is half the sum insured"),
    pytest.param("80000000", "12.5", "10", 12, "10000000.00", "100000.00", id="fractional limit percentage"),
    pytest.param("10000001", "12.5", "10", 12, "1250000.13", "12500.00", id="limit rounds half up to the cent"),
    pytest.param("10000125", "100", "1", 12, "10000125.00", "10000.13", id="premium exactly half a cent rounds up"),
    pytest.param("10000124", "100", "1", 12, "10000124.00", "10000.12", id="premium under half a cent rounds down"),
    pytest.param("25000000", "100", "3.1234", 12, "25000000.00", "78085.00", id="rate with four decimals"),
    pytest.param("100000000", "100", "12", 6, "100000000.00", "600000.00", id="six-month term is half the rate"),
    pytest.param("100000000", "100", "12", 3, "100000000.00", "300000.00", id="three-month term is a quarter"),
    pytest.param("100000000", "100", "12", 1, "100000000.00", "100000.00", id="one-month term is a twelfth"),
    pytest.param("13011015", "100", "12", 7, "13011015.00", "91077.11", id="seven-month term, exact half cent"),
    pytest.param("17590125", "100", "15", 4, "17590125.00", "87950.63", id="four-month term, exact half cent"),
    pytest.param("100000000", "0", "12", 12, "0.00", "0.00", id="zero limit costs nothing"),
]


@pytest.mark.parametrize(
    ("sum_insured", "limit_pct", "rate", "term_months", "expected_limit", "expected_premium"), COVERAGE_LINES
)
def test_coverage_premium_is_limit_times_rate_per_mille_for_the_term_rounded_half_up(
    sum_insured, limit_pct, rate, term_months, expected_limit, expected_premium
):
    product = make_product(term_months=term_months)
    coverage = make_coverage(product, "A", rate, limit_pct=limit_pct)

    pricing = price(product=product, sum_insured=sum_insured, coverage_codes=["A"], coverages=[coverage], rules=[])

    [line] = pricing.coverages
    assert line["limit"] == Decimal(expected_limit)
    assert line["premium"] == Decimal(expected_premium)
    assert pricing.risk_premium == Decimal(expected_premium)


def test_coverage_lines_keep_the_coverage_terms_they_were_priced_with():
    product = make_product()
    coverage = make_coverage(product, "PT", "20")
    coverage.deductible_pct = Decimal("10")
    coverage.deductible_min = Decimal("1000000")

    pricing = price(product=product, sum_insured="50000000", coverage_codes=["PT"], coverages=[coverage], rules=[])

    assert pricing.coverages == [
        {
            "code": "PT",
            "name": "Coverage PT",
            "limit": Decimal("50000000.00"),
            "deductible_pct": "10",
            "deductible_min": "1000000",
            "rate_per_mille": "20",
            "premium": Decimal("1000000.00"),
        }
    ]


# --- which coverages are priced -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "priced"),
    [
        pytest.param([], ["RC"], id="nothing chosen still prices the mandatory one"),
        pytest.param(["PT"], ["RC", "PT"], id="an optional choice adds to the mandatory one"),
        pytest.param(["RC", "PT"], ["RC", "PT"], id="choosing the mandatory one too changes nothing"),
        pytest.param(["PT", "RC", "PT"], ["RC", "PT"], id="repeats and order do not matter"),
        pytest.param(None, ["RC"], id="no list at all is the mandatory cover"),
    ],
)
def test_mandatory_coverages_are_always_priced(chosen, priced):
    product = make_product()
    coverages = [
        make_coverage(product, "RC", "12", mandatory=True, position=1),
        make_coverage(product, "PT", "20", position=2),
        make_coverage(product, "HU", "5", position=3),
    ]

    pricing = price(product=product, sum_insured="10000000", coverage_codes=chosen, coverages=coverages, rules=[])

    assert [line["code"] for line in pricing.coverages] == priced
    assert pricing.risk_premium == sum(line["premium"] for line in pricing.coverages)


# --- rating factors: bands are inclusive at both edges ------------------------------------------------------


def banded_product():
    product = make_product(requires_age=True, min_age=18, max_age=75)
    coverages = [make_coverage(product, "VI", "10", mandatory=True)]
    rules = [
        make_rule(product, RatingRule.Factor.AGE, "18", "30", "1.25", "Young"),
        make_rule(product, RatingRule.Factor.AGE, "31", "50", "1", "Adult"),
        make_rule(product, RatingRule.Factor.AGE, "51", "75", "1.6", "Senior"),
        make_rule(product, RatingRule.Factor.SUM_INSURED, "200000000", "500000000", "0.9", "High sum"),
    ]
    return product, coverages, rules


BANDS = [
    # risk premium of VI at 10 per mille: sum insured / 100
    pytest.param(18, "100000000", ["Young"], "1250000.00", id="age at the low edge of the young band"),
    pytest.param(30, "100000000", ["Young"], "1250000.00", id="age at the high edge of the young band"),
    pytest.param(31, "100000000", ["Adult"], "1000000.00", id="age at the low edge of the adult band"),
    pytest.param(50, "100000000", ["Adult"], "1000000.00", id="age at the high edge of the adult band"),
    pytest.param(51, "100000000", ["Senior"], "1600000.00", id="age at the low edge of the senior band"),
    pytest.param(75, "100000000", ["Senior"], "1600000.00", id="age at the oldest insurable"),
    pytest.param(40, "199999999.99", ["Adult"], "2000000.00", id="a cent under the sum insured band"),
    pytest.param(40, "200000000", ["Adult", "High sum"], "1800000.00", id="sum insured at the band's low edge"),
    pytest.param(40, "500000000", ["Adult", "High sum"], "4500000.00", id="sum insured at the band's high edge"),
    pytest.param(60, "300000000", ["Senior", "High sum"], "4320000.00", id="both factors multiply"),
    pytest.param(25, "333333333", ["Young", "High sum"], "3750000.00", id="product of factors rounded once"),
]


@pytest.mark.parametrize(("age", "sum_insured", "labels", "expected_net"), BANDS)
def test_rating_bands_multiply_the_risk_premium_and_include_both_edges(age, sum_insured, labels, expected_net):
    product, coverages, rules = banded_product()

    pricing = price(
        product=product,
        sum_insured=sum_insured,
        coverage_codes=[],
        insured_age=age,
        coverages=coverages,
        rules=rules,
    )

    assert [factor["label"] for factor in pricing.factors] == labels
    assert pricing.net_premium == Decimal(expected_net)


def test_an_age_outside_every_band_prices_without_an_age_factor():
    product, coverages, rules = banded_product()
    rules = [rule for rule in rules if rule.label != "Adult"]

    pricing = price(
        product=product, sum_insured="100000000", coverage_codes=[], insured_age=40, coverages=coverages, rules=rules
    )

    assert pricing.factors == []
    assert pricing.net_premium == pricing.risk_premium == Decimal("1000000.00")


def test_a_product_not_rated_by_age_ignores_age_bands_and_a_declared_age():
    product, coverages, rules = banded_product()
    product.requires_age = False

    pricing = price(
        product=product, sum_insured="100000000", coverage_codes=[], insured_age=25, coverages=coverages, rules=rules
    )

    assert pricing.factors == []
    assert pricing.net_premium == Decimal("1000000.00")


# --- minimum premium, expense loading and IVA ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sum_insured", "expected_net", "minimum_applied"),
    [
        pytest.param("10000000", "300000.00", True, id="risk premium under the minimum is raised to it"),
        pytest.param("29999999", "300000.00", True, id="a cent of risk under the minimum"),
        pytest.param("30000000", "300000.00", False, id="exactly the minimum is not raised"),
        pytest.param("30000100", "300001.00", False, id="over the minimum is kept"),
    ],
)
def test_the_minimum_premium_applies_to_the_net_premium(sum_insured, expected_net, minimum_applied):
    product = make_product(min_premium=Decimal("300000"))
    coverages = [make_coverage(product, "RC", "10", mandatory=True)]

    pricing = price(product=product, sum_insured=sum_insured, coverage_codes=[], coverages=coverages, rules=[])

    assert pricing.net_premium == Decimal(expected_net)
    assert pricing.minimum_applied is minimum_applied


def test_the_minimum_premium_applies_after_the_rating_factors():
    product = make_product(min_premium=Decimal("300000"))
    coverages = [make_coverage(product, "RC", "10", mandatory=True)]
    rules = [make_rule(product, RatingRule.Factor.SUM_INSURED, "0", "40000000", "0.5", "Discount")]

    pricing = price(product=product, sum_insured="40000000", coverage_codes=[], coverages=coverages, rules=rules)

    assert pricing.risk_premium == Decimal("400000.00")
    assert pricing.net_premium == Decimal("300000.00")
    assert pricing.minimum_applied is True


@pytest.mark.parametrize(
    ("risk", "loading_pct", "tax_pct", "expected_loading", "expected_tax", "expected_total"),
    [
        pytest.param("1000000", "20", "19", "200000.00", "228000.00", "1428000.00", id="loading 20 and IVA 19"),
        pytest.param("1000000", "0", "19", "0.00", "190000.00", "1190000.00", id="IVA only"),
        pytest.param("1000000", "20", "0", "200000.00", "0.00", "1200000.00", id="loading only, IVA exempt"),
        pytest.param("123456.78", "17.5", "19", "21604.94", "27561.73", "172623.45", id="both round half up"),
        pytest.param("1000.10", "15", "5", "150.02", "57.51", "1207.63", id="IVA is on net plus loading"),
    ],
)
def test_expense_loading_and_iva_are_added_on_top_of_the_net_premium(
    risk, loading_pct, tax_pct, expected_loading, expected_tax, expected_total
):
    # A 1 per mille coverage over a sum insured of risk x 1000 prices exactly `risk`.
    product = make_product(expense_loading_pct=Decimal(loading_pct), tax_pct=Decimal(tax_pct))
    coverages = [make_coverage(product, "RC", "1", mandatory=True)]

    pricing = price(product=product, sum_insured=Decimal(risk) * 1000, coverage_codes=[], coverages=coverages, rules=[])

    assert pricing.net_premium == Decimal(risk)
    assert pricing.expense_loading == Decimal(expected_loading)
    assert pricing.tax == Decimal(expected_tax)
    assert pricing.total == Decimal(expected_total)
    assert pricing.total == pricing.net_premium + pricing.expense_loading + pricing.tax
    assert (pricing.expense_loading_pct, pricing.tax_pct) == (Decimal(loading_pct), Decimal(tax_pct))


@pytest.mark.parametrize("currency", ["COP", "USD", "EUR"])
def test_the_price_is_in_the_products_currency(currency):
    product = make_product(currency=currency)
    coverages = [make_coverage(product, "RC", "12", mandatory=True)]

    pricing = price(product=product, sum_insured="100000", coverage_codes=[], coverages=coverages, rules=[])

    assert pricing.currency == currency
    assert pricing.as_breakdown()["currency"] == currency


# --- the breakdown always adds up (seeded random inputs) ---------------------------------------------------


def random_case(rng):
    product = make_product(
        term_months=rng.choice([1, 3, 6, 12, 12, 12]),
        requires_age=rng.random() < 0.5,
        expense_loading_pct=Decimal(rng.randrange(0, 4000)) / 100,
        tax_pct=rng.choice([Decimal("0"), Decimal("5"), Decimal("19")]),
        min_premium=Decimal(rng.randrange(0, 500000)),
        max_sum_insured=Decimal("900000000"),
    )
    coverages = [
        make_coverage(
            product,
            f"C{index}",
            Decimal(rng.randrange(1, 400000)) / 10000,
            limit_pct=Decimal(rng.randrange(1, 15000)) / 100,
            mandatory=index == 0,
            position=index,
        )
        for index in range(rng.randrange(1, 5))
    ]
    rules = [
        make_rule(product, RatingRule.Factor.AGE, "18", "40", Decimal(rng.randrange(5000, 20000)) / 10000, "A"),
        make_rule(product, RatingRule.Factor.AGE, "41", "75", Decimal(rng.randrange(5000, 20000)) / 10000, "B"),
        make_rule(
            product, RatingRule.Factor.SUM_INSURED, "0", "300000000", Decimal(rng.randrange(5000, 20000)) / 10000, "S"
        ),
    ]
    inputs = {
        "sum_insured": Decimal(rng.randrange(100, 90000000000)) / 100,
        "coverage_codes": [c.code for c in coverages if rng.random() < 0.6],
        "insured_age": rng.randrange(18, 76),
    }
    return product, coverages, rules, inputs


def test_every_amount_has_two_places_and_the_breakdown_adds_up_for_random_inputs():
    rng = random.Random(20261201)
    for _ in range(600):
        product, coverages, rules, inputs = random_case(rng)

        pricing = price(product=product, coverages=coverages, rules=rules, **inputs)

        amounts = [line["limit"] for line in pricing.coverages] + [line["premium"] for line in pricing.coverages]
        amounts += [pricing.risk_premium, pricing.net_premium, pricing.expense_loading, pricing.tax, pricing.total]
        assert all(has_two_places(amount) for amount in amounts), (inputs, amounts)
        assert pricing.risk_premium == sum(line["premium"] for line in pricing.coverages)
        assert pricing.net_premium >= product.min_premium
        assert pricing.total == pricing.net_premium + pricing.expense_loading + pricing.tax
        breakdown = pricing.as_breakdown()
        assert sum(Decimal(line["premium"]) for line in breakdown["coverages"]) == Decimal(breakdown["risk_premium"])
        assert (
            Decimal(breakdown["net_premium"]) + Decimal(breakdown["expense_loading"]) + Decimal(breakdown["tax"])
            == Decimal(breakdown["total"])
            == pricing.total
        )


def test_every_coverage_premium_is_the_exact_value_rounded_half_up_for_any_term():
    """Integer sums and rates hit exact half cents often enough to show how each one is rounded."""
    rng = random.Random(12)
    wrong = []
    for _ in range(4000):
        product = make_product(term_months=rng.randrange(1, 13))
        coverage = make_coverage(product, "A", rng.choice(["9", "12", "15", "18", "20", "25"]))
        sum_insured = Decimal(rng.randrange(10000000, 500000000))

        pricing = price(product=product, sum_insured=sum_insured, coverage_codes=["A"], coverages=[coverage], rules=[])

        exact = Fraction(sum_insured) * Fraction(coverage.rate_per_mille) * product.term_months / 12000
        if pricing.coverages[0]["premium"] != exact_half_up(exact):
            wrong.append((product.term_months, str(sum_insured), str(coverage.rate_per_mille)))
    assert wrong == []


# --- bad input: a ValidationError keyed by the field at fault ------------------------------------------------


def bounded_product():
    product = make_product(
        name="Vida",
        requires_age=True,
        min_age=18,
        max_age=70,
        min_sum_insured=Decimal("10000000"),
        max_sum_insured=Decimal("500000000"),
    )
    coverages = [make_coverage(product, "VI", "3", position=1), make_coverage(product, "IT", "1", position=2)]
    return product, coverages


GOOD = {"sum_insured": "50000000", "coverage_codes": ["VI"], "insured_age": 40}

BAD_INPUTS = [
    pytest.param({"sum_insured": "-1000000"}, "sum_insured", id="negative sum insured"),
    pytest.param({"sum_insured": "0"}, "sum_insured", id="zero sum insured"),
    pytest.param({"sum_insured": "mucho"}, "sum_insured", id="non-numeric sum insured"),
    pytest.param({"sum_insured": ""}, "sum_insured", id="empty sum insured"),
    pytest.param({"sum_insured": None}, "sum_insured", id="missing sum insured"),
    pytest.param({"sum_insured": "NaN"}, "sum_insured", id="NaN sum insured"),
    pytest.param({"sum_insured": Decimal("sNaN")}, "sum_insured", id="signalling NaN sum insured"),
    pytest.param({"sum_insured": "Infinity"}, "sum_insured", id="infinite sum insured"),
    pytest.param({"sum_insured": "-Infinity"}, "sum_insured", id="minus infinite sum insured"),
    pytest.param({"sum_insured": "9999999.99"}, "sum_insured", id="a cent under the product minimum"),
    pytest.param({"sum_insured": "500000000.01"}, "sum_insured", id="a cent over the product maximum"),
    pytest.param({"insured_age": None}, "insured_age", id="no age on an age-rated product"),
    pytest.param({"insured_age": 17}, "insured_age", id="younger than the product minimum age"),
    pytest.param({"insured_age": 71}, "insured_age", id="older than the product maximum age"),
    pytest.param({"coverage_codes": ["VI", "XX"]}, "coverage_codes", id="unknown coverage code"),
    pytest.param({"coverage_codes": []}, "coverage_codes", id="no coverage chosen and none mandatory"),
    pytest.param({"coverage_codes": None}, "coverage_codes", id="no coverage list and none mandatory"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_message_on_the_field(bad, field):
    product, coverages = bounded_product()

    with pytest.raises(ValidationError) as refused:
        price(product=product, coverages=coverages, rules=[], **{**GOOD, **bad})

    errors = refused.value.message_dict
    assert list(errors) == [field]
    assert errors[field][0].strip()


def test_the_limits_of_the_product_are_in_the_message():
    product, coverages = bounded_product()

    with pytest.raises(ValidationError) as refused:
        price(product=product, coverages=coverages, rules=[], **{**GOOD, "insured_age": 80})

    assert refused.value.message_dict["insured_age"] == ["Vida insures people aged 18 to 70."]


def test_every_bad_field_is_reported_at_once():
    product, coverages = bounded_product()

    with pytest.raises(ValidationError) as refused:
        price(product=product, coverages=coverages, rules=[], sum_insured="-5", coverage_codes=["ZZ"], insured_age=90)

    assert set(refused.value.message_dict) == {"sum_insured", "insured_age", "coverage_codes"}
    assert "ZZ" in refused.value.message_dict["coverage_codes"][0]


def test_the_sum_insured_at_the_product_limits_is_accepted():
    product, coverages = bounded_product()

    for sum_insured in ("10000000", "500000000"):
        pricing = price(product=product, coverages=coverages, rules=[], **{**GOOD, "sum_insured": sum_insured})
        assert pricing.coverages[0]["limit"] == Decimal(sum_insured)


# --- the factory product, read from the database -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sum_insured", "chosen", "risk", "net", "loading", "tax", "total"),
    [
        pytest.param(
            "100000000", ["PT"], "3200000.00", "3200000.00", "640000.00", "729600.00", "4569600.00", id="RC + PT"
        ),
        pytest.param(
            "300000000", ["PT"], "9600000.00", "8640000.00", "1728000.00", "1969920.00", "12337920.00", id="SI band"
        ),
        pytest.param(
            "10000000", [], "120000.00", "300000.00", "60000.00", "68400.00", "428400.00", id="minimum premium"
        ),
    ],
)
def test_the_factory_product_prices_from_its_stored_coverages_and_rules(
    db, sum_insured, chosen, risk, net, loading, tax, total
):
    product = ProductFactory()

    pricing = price(product=product, sum_insured=sum_insured, coverage_codes=chosen)

    assert (pricing.risk_premium, pricing.net_premium) == (Decimal(risk), Decimal(net))
    assert (pricing.expense_loading, pricing.tax, pricing.total) == (Decimal(loading), Decimal(tax), Decimal(total))
