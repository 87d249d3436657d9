"""Finance's day with collections: a customer's overdue instalment paid in cash at the office, recorded
from the customer's account without a page reload, then the account statement downloaded as PDF."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.core.money import format_money
from portal.payments.forms import StatementPeriodForm
from portal.payments.models import Instalment, Payment

from .helpers import assert_same_document, mark_document, open_from_navigation, sign_in

pytestmark = pytest.mark.e2e

CUSTOMER = "Santiago Henao Múnera"


def open_account(page: Page):
    open_from_navigation(page, "payments:payment_list")
    page.get_by_test_id("accounts-link").click()
    page.get_by_test_id("filter-form").get_by_label("Customer name or ID").fill("Santiago")
    page.get_by_test_id("filter-form").get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=CUSTOMER).click()
    expect(page).to_have_url(re.compile(r"/payments/accounts/\d+/$"))


def test_finance_records_a_cash_payment_and_downloads_the_statement_pdf(page, book):
    overdue = Instalment.objects.get(policy__customer__full_name=CUSTOMER, sequence=1)
    amount = format_money(overdue.amount, "COP")
    sign_in(page, "finance@amparo.demo", DEMO_PASSWORD)
    open_account(page)
    expect(page.get_by_test_id("balance-due-amount")).to_have_text(amount)

    mark_document(page)
    page.get_by_test_id("open-record-payment").click()
    form = page.get_by_test_id("record-payment-form")
    form.get_by_label("Paid by").select_option(label="Cash")
    form.get_by_label("Amount").fill("-5")
    form.get_by_label("Reference").fill("RC-004512")
    page.get_by_test_id("record-payment-submit").click()
    expect(page.get_by_test_id("record-payment-form")).to_contain_text("greater than or equal to 0.01")
    assert not Payment.objects.exists()

    page.get_by_test_id("record-payment-form").get_by_label("Amount").fill(str(overdue.amount))
    page.get_by_test_id("record-payment-submit").click()
    expect(page.locator("#messages")).to_contain_text(f"Payment of {amount} recorded")
    expect(page.get_by_test_id("balance-due-amount")).to_have_text("COP 0.00")
    expect(page.get_by_test_id(f"instalment-{overdue.policy.number}-1")).to_contain_text("Paid")
    assert_same_document(page)
    payment = Payment.objects.get()
    assert (payment.reference, payment.method, payment.recorded_by.email_primary) == (
        "RC-004512",
        "CASH",
        "finance@amparo.demo",
    )

    page.get_by_test_id("open-statement").click()
    today = timezone.localdate()
    expect(page.get_by_test_id("statement")).to_contain_text("Payment received: Cash, reference RC-004512")
    with page.expect_download() as download_info:
        page.get_by_test_id("statement-pdf").click()
    period = StatementPeriodForm.default_period(today)
    id_number = overdue.policy.customer.id_number
    assert download_info.value.suggested_filename == (
        f"statement-{id_number}-COP-{period['start'].isoformat()}-{period['end'].isoformat()}.pdf"
    )
    download = download_info.value
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
