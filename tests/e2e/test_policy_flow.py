"""An agent's day with the book: a new customer, a quote priced live, the policy issued and endorsed,
its document downloaded; the team's supervisor sees it, an agent of another team cannot open it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.core.money import format_money
from portal.customers.models import Customer
from portal.policies.models import Policy, Product
from portal.policies.rating import price

from .helpers import assert_same_document, mark_document, open_from_navigation, sign_in

pytestmark = pytest.mark.e2e

CUSTOMER = "Valentina Ortiz Salazar"
SUM_INSURED = Decimal("90000000")
ENDORSED_SUM = Decimal("120000000")


def create_customer(page: Page):
    open_from_navigation(page, "customers:customer_list")
    page.get_by_test_id("new-customer").click()
    form = page.get_by_test_id("customer-form")
    form.get_by_label("Full name").fill(CUSTOMER)
    form.get_by_label("ID number").fill("1 020 304 050")
    form.get_by_label("Primary email").fill("valentina.ortiz@correo.test")
    form.get_by_label("Phone").fill("+57 311 222 3344")
    form.get_by_label("City").fill("Bogotá")
    form.get_by_label("Birth date").fill("1990-04-12")
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-name")).to_have_text(CUSTOMER)


def price_and_issue_a_quote(page: Page, product: Product):
    page.get_by_test_id("new-quote").click()
    form = page.get_by_test_id("quote-form")
    expect(form.get_by_label("Customer")).to_have_value(str(Customer.objects.get(full_name=CUSTOMER).pk))
    mark_document(page)
    form.get_by_label("Product").select_option(label=product.name)
    expect(page.get_by_test_id("coverage-PP")).to_be_checked()
    for code in ("PP", "AS"):
        page.get_by_test_id(f"coverage-{code}").uncheck()
    form.get_by_label("Sum insured").fill(str(SUM_INSURED))
    expected = price(product=product, sum_insured=SUM_INSURED, coverage_codes=["RC", "PT"])
    expect(page.get_by_test_id("total-premium")).to_contain_text(format_money(expected.total, "COP"))
    assert_same_document(page)
    page.get_by_test_id("save-present").click()
    expect(page.get_by_test_id("quote-premium")).to_contain_text(format_money(expected.total, "COP"))
    page.get_by_test_id("accept").click()
    page.get_by_test_id("issue").click()
    expect(page).to_have_url(re.compile(r"/policies/\d+/$"))
    expect(page.get_by_test_id("policy-panel")).to_contain_text(re.compile(r"AUTO-\d{4}-\d{6}"))
    return Policy.objects.get(customer__full_name=CUSTOMER)


def endorse(page: Page, policy: Policy):
    mark_document(page)
    page.get_by_test_id("open-endorse").click()
    form = page.get_by_test_id("endorse-form")
    form.get_by_label("Takes effect on").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    form.get_by_label("Sum insured").fill(str(ENDORSED_SUM))
    form.get_by_label("Reason").fill("Accesorios nuevos declarados")
    expect(page.get_by_test_id("endorse-preview-result")).to_be_visible()
    page.get_by_test_id("endorse-submit").click()
    expect(page.get_by_test_id("version-2")).to_be_visible()
    assert_same_document(page)
    policy.refresh_from_db()
    assert policy.current_version.number == 2
    assert policy.current_version.sum_insured == ENDORSED_SUM


def test_an_agent_quotes_issues_endorses_and_downloads_a_policy_that_the_supervisor_sees_and_an_outsider_cannot(
    new_page, book, live_server
):
    product = Product.objects.get(code="AUTO")
    page = new_page()
    sign_in(page, "agent@amparo.demo", DEMO_PASSWORD)
    create_customer(page)
    policy = price_and_issue_a_quote(page, product)
    endorse(page, policy)

    with page.expect_download() as download_info:
        page.get_by_test_id("pdf-2").click()
    download = download_info.value
    assert download.suggested_filename == f"{policy.number}-v2.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    supervisor = new_page()
    sign_in(supervisor, "supervisor@amparo.demo", DEMO_PASSWORD)
    open_from_navigation(supervisor, "policies:policy_list")
    supervisor.get_by_role("link", name=policy.number).click()
    expect(supervisor.get_by_test_id("policy-panel")).to_contain_text(CUSTOMER)
    expect(supervisor.get_by_test_id("version-history")).to_contain_text("Endorsement")

    outsider = new_page()
    sign_in(outsider, "agent3@amparo.demo", DEMO_PASSWORD)
    response = outsider.goto(f"/policies/{policy.pk}/")
    assert response.status == 404
    outsider.goto("/policies/")
    expect(outsider.get_by_role("link", name=policy.number)).to_have_count(0)
