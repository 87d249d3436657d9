"""Broken-object-level-authorization suite, generated from the API's own OpenAPI schema, so every
endpoint added later is checked without editing this file:

- every path with an `{id}` (any path parameter), every method: customer A calling it with customer B's
  ids gets 404, and nothing in the database changes;
- every staff endpoint, every method: a customer gets 403;
- every endpoint that needs a token: no token gets 401.

B's ids are found the way the app finds them: from B's own list at the path's prefix
(`/api/v1/quotes/{id}/accept/` takes B's first row of `GET /api/v1/quotes/`). A new kind of object
needs B to own one: add a builder to OWNED_BY_EACH_CUSTOMER.
"""

import hashlib
import json
import re

import pytest
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.generators import SchemaGenerator

from portal.accounts.models import Role
from portal.gateways.models import GatewayTransaction
from portal.payments.services import payment_record

from ..factories import (
    CustomerFactory,
    ProductFactory,
    UserFactory,
    apply_loan,
    file_claim,
    issue_policy,
    make_quote,
)

PARAMETER = re.compile(r"\{([^}]+)\}")
STAFF_PREFIX = "/api/v1/staff/"
# The cedants' systems sign in with OAuth2 client credentials, not as customers; their own suite
# (test_api_bordereaux.py) checks another client's jobs are 404, a bad token 401 and a missing scope 403.
CEDANT_PREFIX = "/api/v1/bordereaux/"
# What the database is made of, for "nothing changed": every table of these apps.
WATCHED_APPS = (
    "accounts",
    "audit",
    "customers",
    "policies",
    "claims",
    "loans",
    "payments",
    "gateways",
    "notifications",
)


def _schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations():
    for path, operations in sorted(_schema()["paths"].items()):
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def _with_placeholders(path, operation):
    """`path` with each parameter given a value of its type (that names nothing in particular)."""
    types = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p.get("in") == "path"}

    def value(match):
        schema = types.get(match.group(1), {})
        return "00000000-0000-4000-8000-000000000001" if schema.get("format") == "uuid" else "1"

    return PARAMETER.sub(value, path)


OPERATIONS = [operation for operation in _operations() if not operation[1].startswith(CEDANT_PREFIX)]
OBJECT_OPERATIONS = [
    (method, path) for method, path, _ in OPERATIONS if PARAMETER.search(path) and not path.startswith(STAFF_PREFIX)
]
STAFF_OPERATIONS = [
    (method, _with_placeholders(path, operation))
    for method, path, operation in OPERATIONS
    if path.startswith(STAFF_PREFIX)
]
TOKEN_OPERATIONS = [
    (method, _with_placeholders(path, operation)) for method, path, operation in OPERATIONS if operation.get("security")
]


# Each builds, for one customer and a product sold in the app, an object of a kind some `{id}` path serves.
OWNED_BY_EACH_CUSTOMER = [
    lambda customer, product: make_quote(customer=customer, product=product),
    lambda customer, product: issue_policy(customer=customer, product=product),
    lambda customer, product: file_claim(policy=issue_policy(customer=customer, product=product)),
    # A payment with its receipt, and an online payment (made as the gateway's record, no Wompi needed).
    lambda customer, product: payment_record(
        account=customer.ledger_accounts.first(),
        amount="1000",
        method="BANK_TRANSFER",
        reference=f"BOLA-{customer.pk}",
        actor=customer.agent,
    ),
    lambda customer, product: GatewayTransaction.objects.create(
        reference=f"AMP-BOLA{customer.pk}", customer=customer, amount_in_cents=100000, currency="COP", method="NEQUI"
    ),
    # A loan on a policy of theirs, applied for by their agent.
    lambda customer, product: apply_loan(
        policy=issue_policy(customer=customer, product=product, sum_insured="100000000")
    ),
]


def _customer(product=None):
    user = UserFactory(role=Role.CLIENT)
    customer = CustomerFactory(user=user, email_primary=user.email_primary)
    for build in OWNED_BY_EACH_CUSTOMER if product else ():
        build(customer, product)
    return user


@pytest.fixture
def two_customers(db, client_for):
    product = ProductFactory(code="BOLA", sold_in_app=True)
    return {name: client_for(_customer(product)) for name in ("a", "b")}


def _call(client, method, path, body=None):
    if method in {"get", "delete"}:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body or {}, format="json")


def _rows(response):
    body = response.json()
    return body.get("results", body) if isinstance(body, dict) else body


def _ids_of(client, path):
    """`path` with each parameter filled, left to right, from the caller's own list at its prefix."""
    filled = path
    while match := PARAMETER.search(filled):
        collection = filled[: match.start()]
        response = client.get(collection)
        rows = _rows(response) if response.status_code == 200 else []
        if not rows or "id" not in rows[0]:
            pytest.fail(
                f"{path}: customer B has nothing listed at GET {collection} to try. Give every customer one "
                "(OWNED_BY_EACH_CUSTOMER) and list it there with its id."
            )
        filled = filled[: match.start()] + str(rows[0]["id"]) + filled[match.end() :]
    return filled


def _database_state():
    digest = hashlib.sha256()
    for app_label in WATCHED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            rows = list(model._base_manager.order_by("pk").values())
            digest.update(json.dumps([model._meta.label, rows], cls=DjangoJSONEncoder, default=str).encode())
    return digest.hexdigest()


@pytest.mark.parametrize(("method", "path"), OBJECT_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OBJECT_OPERATIONS])
def test_another_customers_object_is_404_and_nothing_changes(two_customers, method, path):
    theirs = _ids_of(two_customers["b"], path)
    before = _database_state()
    response = _call(two_customers["a"], method, theirs)
    assert response.status_code == 404, (theirs, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json") and "detail" in response.json()
    assert _database_state() == before


def test_the_suite_covers_the_customers_object_endpoints():
    assert ("get", "/api/v1/policies/{id}/") in OBJECT_OPERATIONS
    assert ("post", "/api/v1/quotes/{id}/accept/") in OBJECT_OPERATIONS
    assert ("post", "/api/v1/claims/{id}/documents/") in OBJECT_OPERATIONS
    assert ("get", "/api/v1/payments/attempts/{id}/") in OBJECT_OPERATIONS
    assert ("post", "/api/v1/loans/{id}/withdraw/") in OBJECT_OPERATIONS
    assert ("post", "/api/v1/loans/{id}/payments/") in OBJECT_OPERATIONS
    assert ("get", "/api/v1/loans/{id}/documents/") in OBJECT_OPERATIONS
    assert ("post", "/api/v1/loans/{id}/documents/") in OBJECT_OPERATIONS


@pytest.mark.parametrize(("method", "path"), STAFF_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in STAFF_OPERATIONS])
def test_a_customer_calling_a_staff_endpoint_is_403(db, client_for, method, path):
    customer = client_for(_customer())
    before = _database_state()
    response = _call(customer, method, path)
    assert response.status_code == 403, (path, response.status_code, response.content[:300])
    assert "detail" in response.json()
    assert _database_state() == before


@pytest.mark.parametrize(("method", "path"), TOKEN_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in TOKEN_OPERATIONS])
def test_an_endpoint_that_needs_a_token_is_401_without_one(db, app_client, method, path):
    response = _call(app_client, method, path)
    assert response.status_code == 401, (path, response.status_code)
    assert "detail" in response.json()
