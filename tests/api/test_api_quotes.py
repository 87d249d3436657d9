"""Products sold in the app, quotes priced with the portal's rating, and accepting one to get the
policy through the portal's issuance; only the caller's own quotes, and nothing they may not set."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.policies.models import Policy, Quote
from portal.policies.rating import price

from ..factories import CustomerFactory, ProductFactory, UserFactory, make_quote

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/products/"
QUOTES = "/api/v1/quotes/"


@pytest.fixture
def app_product(db):
    return ProductFactory(code="APPAUTO", sold_in_app=True)


def quote_body(for_product, **changes):
    return {
        "product": for_product.pk,
        "start_date": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "sum_insured": "100000000",
        "coverage_codes": ["RC", "PT"],
        **changes,
    }


def test_products_list_only_those_on_sale_and_sold_in_the_app(customer_client, app_product):
    ProductFactory(code="SOLOAGENTE")
    ProductFactory(code="RETIRADO", sold_in_app=True, is_active=False)
    response = customer_client.get(PRODUCTS)
    assert response.status_code == 200
    body = response.json()
    assert [row["code"] for row in body["results"]] == ["APPAUTO"] and body["count"] == 1
    assert [c["code"] for c in body["results"][0]["coverages"]] == ["RC", "PT"]


def test_the_product_list_reads_the_same_number_of_queries_for_one_product_or_many(
    customer_client, django_assert_max_num_queries, django_assert_num_queries
):
    ProductFactory(code="UNO", sold_in_app=True)
    with django_assert_max_num_queries(20) as one:
        customer_client.get(PRODUCTS)
    for n in range(6):
        ProductFactory(code=f"MAS{n}", sold_in_app=True)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(customer_client.get(PRODUCTS).json()["results"]) == 7


def test_a_quote_is_priced_as_the_portal_prices_it(customer_client, customer_account, app_product):
    response = customer_client.post(QUOTES, quote_body(app_product), format="json")
    assert response.status_code == 201
    body = response.json()
    expected = price(product=app_product, sum_insured=Decimal("100000000"), coverage_codes=["RC", "PT"])
    assert Decimal(body["premium"]) == expected.total and body["status"] == "QUOTED"
    assert body["valid_until"] and response["Location"].endswith(f"/api/v1/quotes/{body['id']}/")
    quote = Quote.objects.get(pk=body["id"])
    assert quote.customer == customer_account.customer and quote.created_by == customer_account
    assert AuditEvent.objects.filter(action="quote.created", target_id=str(quote.pk)).exists()


def test_a_quote_cannot_set_its_price_customer_status_or_age(customer_client, customer_account, app_product):
    other = CustomerFactory()
    body = quote_body(
        app_product, premium="1", status="ISSUED", customer=other.pk, insured_age=20, currency="USD", breakdown={}
    )
    response = customer_client.post(QUOTES, body, format="json")
    assert response.status_code == 201
    quote = Quote.objects.get(pk=response.json()["id"])
    assert quote.customer == customer_account.customer and quote.status == Quote.Status.QUOTED
    assert quote.premium > 1 and quote.currency == "COP" and quote.insured_age is None


def test_a_product_not_sold_in_the_app_cannot_be_quoted(customer_client):
    agents_only = ProductFactory(code="SOLOAGENTE")
    response = customer_client.post(QUOTES, quote_body(agents_only), format="json")
    assert response.status_code == 400 and "product" in response.json()["errors"]
    assert not Quote.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sum_insured": "5"}, "sum_insured"),
        ({"start_date": "2000-01-01"}, "start_date"),
        ({"coverage_codes": ["NOPE"]}, "coverage_codes"),
        ({"payment_frequency": "WEEKLY"}, "payment_frequency"),
        ({"product": "abc"}, "product"),
        ({"sum_insured": "NaN"}, "sum_insured"),
    ],
)
def test_bad_quote_input_is_400_naming_the_field_and_saves_nothing(customer_client, app_product, changes, field):
    response = customer_client.post(QUOTES, quote_body(app_product, **changes), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json().get("errors", {}), response.json()
    assert not Quote.objects.exists()


def test_the_same_idempotency_key_gives_the_same_quote_once(customer_client, app_product):
    first = customer_client.post(QUOTES, quote_body(app_product), format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    again = customer_client.post(QUOTES, quote_body(app_product), format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = customer_client.post(
        QUOTES, quote_body(app_product, sum_insured="200000000"), format="json", HTTP_IDEMPOTENCY_KEY="q-1"
    )
    assert other.status_code == 422
    assert Quote.objects.count() == 1


def test_the_quote_list_shows_only_the_callers_quotes_newest_first(customer_client, customer_account, app_product):
    mine = [make_quote(customer=customer_account.customer, product=app_product) for _ in range(2)]
    make_quote(product=app_product)
    body = customer_client.get(QUOTES).json()
    assert [row["id"] for row in body["results"]] == [mine[1].pk, mine[0].pk]


def test_the_quote_list_reads_the_same_number_of_queries_for_one_quote_or_many(
    customer_client, customer_account, app_product, django_assert_max_num_queries, django_assert_num_queries
):
    make_quote(customer=customer_account.customer, product=app_product)
    with django_assert_max_num_queries(20) as one:
        customer_client.get(QUOTES)
    for _ in range(5):
        make_quote(customer=customer_account.customer, product=app_product)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(customer_client.get(QUOTES).json()["results"]) == 6


def test_another_customers_quote_is_404_and_cannot_be_accepted(customer_client, app_product):
    theirs = make_quote(product=app_product)
    assert customer_client.get(f"{QUOTES}{theirs.pk}/").status_code == 404
    assert customer_client.post(f"{QUOTES}{theirs.pk}/accept/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Quote.Status.QUOTED and not Policy.objects.exists()


def test_accepting_a_quote_issues_the_policy_through_the_portals_issuance(
    customer_client, customer_account, app_product
):
    quote = make_quote(customer=customer_account.customer, product=app_product)
    response = customer_client.post(f"{QUOTES}{quote.pk}/accept/")
    assert response.status_code == 201
    body = response.json()
    policy = Policy.objects.get(pk=body["id"])
    assert policy.quote == quote and policy.customer == customer_account.customer
    assert body["number"] == policy.number and body["versions"][0]["kind"] == "NEW_BUSINESS"
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ISSUED
    assert AuditEvent.objects.filter(action="quote.accepted").exists()
    assert AuditEvent.objects.filter(action="policy.issued").exists()
    assert customer_client.get(f"{QUOTES}{quote.pk}/").json()["policy"] == policy.pk


def test_accepting_twice_is_a_409_and_issues_one_policy(customer_client, customer_account, app_product):
    quote = make_quote(customer=customer_account.customer, product=app_product)
    customer_client.post(f"{QUOTES}{quote.pk}/accept/")
    again = customer_client.post(f"{QUOTES}{quote.pk}/accept/")
    assert again.status_code == 409 and "detail" in again.json()
    assert Policy.objects.count() == 1


def test_an_expired_quote_is_refused_with_409_and_marked_expired(customer_client, customer_account, app_product):
    quote = make_quote(customer=customer_account.customer, product=app_product)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    response = customer_client.post(f"{QUOTES}{quote.pk}/accept/")
    assert response.status_code == 409
    quote.refresh_from_db()
    assert quote.status == Quote.Status.EXPIRED and not Policy.objects.exists()


def test_a_quote_whose_start_has_passed_is_refused_and_left_as_it_was(customer_client, customer_account, app_product):
    quote = make_quote(customer=customer_account.customer, product=app_product)
    Quote.objects.filter(pk=quote.pk).update(start_date=timezone.localdate() - timedelta(days=1))
    response = customer_client.post(f"{QUOTES}{quote.pk}/accept/")
    assert response.status_code == 400 and "detail" in response.json()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.QUOTED and not Policy.objects.exists()


def test_staff_and_anonymous_callers_cannot_use_the_customer_quotes(client_for, app_client, app_product):
    assert app_client.get(QUOTES).status_code == 401
    agent = client_for(UserFactory(role=Role.AGENT))
    assert agent.get(PRODUCTS).status_code == 403
    assert agent.post(QUOTES, quote_body(app_product), format="json").status_code == 403
    assert not Quote.objects.exists()
