"""An agent sends a customer's Nequi payment to Wompi from the portal; when Wompi's event arrives over
HTTP the payment page turns approved by itself and the customer's balance shows the payment."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import User
from portal.core.money import format_money
from portal.customers.services import customer_create
from portal.gateways.models import GatewayTransaction
from portal.payments.models import LedgerAccount
from portal.payments.selectors import account_summary
from portal.policies.demo import seed_demo_policies
from portal.policies.models import PaymentFrequency, Product
from portal.policies.services import policy_issue, quote_accept, quote_create

from ..wompi_server import APPROVING_NEQUI
from .helpers import sign_in

pytestmark = pytest.mark.e2e

PAID = Decimal("45000")


@pytest.fixture
def customer(demo):
    """A customer whose monthly policy starts today: the first instalment is due now."""
    seed_demo_policies()
    agent = User.objects.get(email_primary="agent@amparo.demo")
    customer = customer_create(
        actor=agent,
        agent=agent,
        full_name="Mariana Quintero Ríos",
        id_type="CC",
        id_number="1032456789",
        email_primary="mariana.quintero@correo.test",
    )
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=Product.objects.get(code="AUTO"),
        start_date=timezone.localdate(),
        sum_insured="90000000",
        coverage_codes=["RC", "PT"],
        payment_frequency=PaymentFrequency.MONTHLY,
    )
    policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
    return customer


def due_now(customer):
    return account_summary(LedgerAccount.objects.get(customer=customer, currency="COP")).due_now


def test_a_customers_balance_shows_an_online_payment_once_wompis_event_arrives(page, live_server, wompi, customer):
    owed = due_now(customer)
    assert owed > PAID
    sign_in(page, "agent@amparo.demo", DEMO_PASSWORD)
    page.goto(f"/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-balance")).to_have_text(f"{format_money(owed, 'COP')} due")

    page.goto(f"/gateways/payments/new/?customer={customer.pk}")
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Amount (COP)").fill(str(PAID))
    form.get_by_label("Nequi mobile number").fill(APPROVING_NEQUI)
    form.get_by_test_id("start-payment").click()
    expect(page).to_have_url(re.compile(r"/gateways/payments/\d+/$"))
    expect(page.get_by_test_id("gateway-status")).to_have_text("Pending")

    attempt = GatewayTransaction.objects.get(customer=customer)
    wompi.settle(attempt.wompi_id)
    answer = wompi.deliver(f"{live_server.url}/api/v1/webhooks/wompi/", attempt.wompi_id)
    assert answer.status_code == 200

    # The pending page asks the portal again every few seconds; nobody reloads it.
    expect(page.get_by_test_id("gateway-status")).to_have_text("Approved", timeout=15_000)
    expect(page.get_by_test_id("payment-recorded")).to_contain_text(format_money(PAID, "COP"))
    page.goto(f"/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-balance")).to_have_text(f"{format_money(owed - PAID, 'COP')} due")
