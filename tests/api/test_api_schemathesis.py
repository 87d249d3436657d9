"""schemathesis against the app's own OpenAPI schema, in process (WSGI), as a customer of the demo kind
(with a policy, quotes and a claim) and as a staff administrator: no 5xx, and every answer (status,
content type, headers, body) conforms to the schema. Each case gets a fresh token, so a generated
logout or password change does not end the others' sign-in."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.tokens import token_pair_for
from portal.accounts.models import Role

from ..factories import CustomerFactory, ProductFactory, UserFactory, file_claim, issue_policy, make_quote
from ..wompi_server import running_wompi

APP = get_wsgi_application()
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
# Every request, the checks' own follow-ups included, goes to the app in process.
schema.app = APP
EXAMPLES = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def demo_customer(db, settings):
    settings.AMPARO_API_AUTH_RATE_PER_ADDRESS = "100000/min"
    settings.AMPARO_API_AUTH_RATE_PER_ACCOUNT = "100000/min"
    user = UserFactory(role=Role.CLIENT, email_primary="client@amparo.test")
    customer = CustomerFactory(user=user, email_primary=user.email_primary)
    product = ProductFactory(code="APPAUTO", sold_in_app=True)
    make_quote(customer=customer, product=product)
    file_claim(policy=issue_policy(customer=customer, product=product))
    return user


@pytest.fixture
def staff_admin(db):
    return UserFactory(role=Role.ADMIN)


# Every check but one: a request the schema allows may still break a business rule (a wrong password,
# a start date in the past, an id that is not yours), and then a 400 is the right answer.
EXCLUDED_CHECKS = [positive_data_acceptance]


def _bearer(user):
    return {"Authorization": f"Bearer {token_pair_for(user)['access']}"}


@schema.parametrize()
@EXAMPLES
def test_the_api_answers_a_customer_as_its_schema_says(case, demo_customer, private_files, wompi):
    case.call_and_validate(headers=_bearer(demo_customer), excluded_checks=EXCLUDED_CHECKS)


@schema.parametrize()
@EXAMPLES
def test_the_api_answers_staff_as_its_schema_says(case, staff_admin, private_files):
    case.call_and_validate(headers=_bearer(staff_admin), excluded_checks=EXCLUDED_CHECKS)


@pytest.fixture
def wompi(settings):
    """The local Wompi, for the customer's online payments and PSE banks."""
    with running_wompi(settings) as server:
        yield server


@pytest.fixture
def private_files(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path


@pytest.fixture(autouse=True)
def connection_kept_between_requests():
    """The WSGI handler closes the database connection when a request starts and finishes; the test's
    transaction lives on it, so, as Django's test client does, it is kept open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
