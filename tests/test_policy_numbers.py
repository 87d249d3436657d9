"""Policy numbers: PRODUCT-YEAR-NNNNNN, one gap-free sequence per product and year, safe under concurrent issuance."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.core.models import NumberSequence
from portal.policies.models import Policy, PolicyVersion, Product, Quote
from portal.policies.services import policy_issue, quote_accept, quote_create

from .factories import ProductFactory
from .helpers import run_together


def accepted_quote(*, actor, customer, product):
    quote = quote_create(
        actor=actor,
        customer=customer,
        product=product,
        start_date=timezone.localdate() + timedelta(days=3),
        sum_insured="100000000",
        coverage_codes=["PT"],
    )
    return quote_accept(quote=quote, actor=actor)


@pytest.fixture
def issue(agent, customer):
    def issue_one(product):
        return policy_issue(quote=accepted_quote(actor=agent, customer=customer, product=product), actor=agent)

    return issue_one


def test_policy_numbers_are_the_product_code_the_year_and_a_six_digit_sequence(issue):
    auto = ProductFactory(code="AUTO")
    year = timezone.localdate().year

    numbers = [issue(auto).number for _ in range(3)]

    assert numbers == [f"AUTO-{year}-000001", f"AUTO-{year}-000002", f"AUTO-{year}-000003"]
    assert all(re.fullmatch(r"[A-Z0-9]+-\d{4}-\d{6}", number) for number in numbers)


def test_two_products_number_their_policies_independently(issue):
    auto, home = ProductFactory(code="AUTO"), ProductFactory(code="HOGAR", line="HOME")
    year = timezone.localdate().year

    numbers = [issue(auto).number, issue(home).number, issue(auto).number, issue(home).number, issue(home).number]

    assert numbers == [
        f"AUTO-{year}-000001",
        f"HOGAR-{year}-000001",
        f"AUTO-{year}-000002",
        f"HOGAR-{year}-000002",
        f"HOGAR-{year}-000003",
    ]


def test_each_year_has_its_own_sequence(issue):
    auto = ProductFactory(code="AUTO")
    year = timezone.localdate().year
    NumberSequence.objects.create(key="policy:AUTO", year=year - 1, last_value=4120)
    NumberSequence.objects.create(key="policy:AUTO", year=year + 1, last_value=7)

    assert issue(auto).number == f"AUTO-{year}-000001"
    assert dict(NumberSequence.objects.filter(key="policy:AUTO").values_list("year", "last_value")) == {
        year - 1: 4120,
        year: 1,
        year + 1: 7,
    }


def test_a_new_year_starts_the_products_sequence_again(issue, agent, customer):
    auto = ProductFactory(code="AUTO")
    issue(auto)
    issue(auto)
    new_year = date(timezone.localdate().year + 1, 1, 2)
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=auto,
        start_date=new_year,
        sum_insured="100000000",
        coverage_codes=["PT"],
        as_of=new_year,
    )
    quote = quote_accept(quote=quote, actor=agent, as_of=new_year)

    policy = policy_issue(quote=quote, actor=agent, as_of=new_year)

    assert policy.number == f"AUTO-{new_year.year}-000001"


def test_a_product_code_in_lower_case_is_refused_so_one_code_is_always_one_prefix(db):
    ProductFactory(code="MOTO")

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(code="moto")
    with pytest.raises(ValidationError) as refused:
        Product(code="moto", name="Motos", line="AUTO", max_sum_insured=Decimal("1000")).full_clean()

    assert "code" in refused.value.message_dict
    assert list(Product.objects.values_list("code", flat=True)) == ["MOTO"]


def test_a_refused_issuance_uses_no_number(issue, agent, customer):
    auto = ProductFactory(code="AUTO")
    quote = accepted_quote(actor=agent, customer=customer, product=auto)

    with pytest.raises(ValidationError):
        policy_issue(quote=quote, actor=agent, as_of=quote.start_date + timedelta(days=1))

    assert issue(auto).number == f"AUTO-{timezone.localdate().year}-000001"


# --- concurrent issuance on PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_twenty_concurrent_issuances_get_twenty_consecutive_numbers(transactional_db, agent, customer):
    auto = ProductFactory(code="AUTO")
    quotes = [accepted_quote(actor=agent, customer=customer, product=auto) for _ in range(20)]

    policies, errors = run_together(lambda quote: policy_issue(quote=quote, actor=agent), quotes)

    assert errors == []
    year = timezone.localdate().year
    numbers = sorted(policy.number for policy in policies)
    assert numbers == [f"AUTO-{year}-{value:06d}" for value in range(1, 21)]
    assert Policy.objects.count() == 20
    assert sorted(Policy.objects.values_list("number", flat=True)) == numbers
    assert PolicyVersion.objects.count() == 20
    assert set(Quote.objects.values_list("status", flat=True)) == {Quote.Status.ISSUED}
    assert NumberSequence.objects.get(key="policy:AUTO", year=year).last_value == 20


@pytest.mark.postgres
def test_two_concurrent_issuances_of_the_same_quote_make_one_policy(transactional_db, agent, customer):
    quote = accepted_quote(actor=agent, customer=customer, product=ProductFactory(code="AUTO"))

    policies, errors = run_together(lambda same: policy_issue(quote=same, actor=agent), [quote, quote])

    assert len(policies) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert errors[0].messages == [
        f"Quote {quote.number} is «Issued», so no policy can be issued from it. Reload the page."
    ]
    assert Policy.objects.get().number == policies[0].number
    assert PolicyVersion.objects.count() == 1
    assert NumberSequence.objects.get(key="policy:AUTO").last_value == 1


@pytest.mark.postgres
def test_acting_on_a_quote_locks_that_quote_only_not_its_product_or_customer(agent, customer):
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    quote = accepted_quote(actor=agent, customer=customer, product=ProductFactory(code="AUTO"))

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        policy_issue(quote=quote, actor=agent)

    locks = [query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"]]
    assert locks
    assert all('FOR UPDATE OF "policies_quote"' in sql or '"policies_quote"' not in sql for sql in locks)
