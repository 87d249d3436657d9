"""A loan in the browser, end to end: an agent applies for a customer and completes the identity check
with a document; the worker's credit check asks the (local) bureau and passes; an administrator
approves; one finance user prepares the transfer and a second confirms it; the schedule shows."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import Role
from portal.loans.models import AccountState, Loan
from portal.policies.demo import seed_demo_policies
from portal.policies.models import Policy
from tests.bureau_server import running_bureau
from tests.factories import UserFactory, make_loan_product

from .helpers import sign_in, sign_out

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def policy(demo, settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    seed_demo_policies()
    return (
        Policy.objects.filter(customer__agent__email_primary="agent@amparo.demo", status="ACTIVE")
        .select_related("customer")
        .order_by("pk")
        .first()
    )


def test_a_loan_goes_from_application_to_disbursement_and_shows_its_schedule(page: Page, policy, settings, tmp_path):
    product = make_loan_product(allows_overdue_instalments=True, max_share_of_sum_insured_pct=None)
    UserFactory(role=Role.FINANCE, email_primary="finance2@amparo.test", password=DEMO_PASSWORD)
    document = tmp_path / "cedula.pdf"
    document.write_bytes(PDF)
    page.on("dialog", lambda dialog: dialog.accept())

    with running_bureau(settings, default_score=720):
        sign_in(page, "agent@amparo.demo", DEMO_PASSWORD)
        page.goto(f"/loans/apply/{policy.customer.pk}/")
        form = page.get_by_test_id("loan-apply-form")
        form.get_by_label("Loan product").select_option(str(product.pk))
        form.get_by_label("Against policy").select_option(str(policy.pk))
        form.get_by_label("Amount").fill("3000000")
        form.get_by_label("Tenure (months)").fill("12")
        page.get_by_test_id("loan-apply-submit").click()
        expect(page).to_have_url(re.compile(r"/loans/\d+/$"))
        expect(page.get_by_test_id("loan-status")).to_have_text("New")

        page.get_by_test_id("action-start").click()
        expect(page.get_by_test_id("loan-task")).to_contain_text("Identity and income check")
        page.get_by_test_id("document-file").set_input_files(str(document))
        page.get_by_test_id("document-upload").click()
        expect(page.get_by_test_id("loan-documents")).to_contain_text("cedula.pdf")
        page.get_by_test_id("action-kyc_pass").click()
        expect(page.get_by_test_id("timeline-task").first).to_have_attribute("data-outcome", "PASSED")
        page.reload()
        expect(page.get_by_test_id("loan-task")).to_contain_text("Approval")
        loan_url = page.url
        sign_out(page)

    sign_in(page, "admin@amparo.demo", DEMO_PASSWORD)
    page.goto(loan_url)
    page.get_by_test_id("action-approve").click()
    expect(page.get_by_test_id("loan-task")).to_contain_text("Disbursement")
    sign_out(page)

    sign_in(page, "finance@amparo.demo", DEMO_PASSWORD)
    page.goto(loan_url)
    page.get_by_test_id("payee-disbursement_prepare").fill("Bancolombia ahorros 123-456")
    page.get_by_test_id("action-disbursement_prepare").click()
    expect(page.get_by_test_id("timeline-task").last).to_contain_text("transfer prepared by")
    expect(page.get_by_test_id("action-disbursement_confirm")).to_have_count(0)
    sign_out(page)

    sign_in(page, "finance2@amparo.test", DEMO_PASSWORD)
    page.goto(loan_url)
    page.get_by_test_id("action-disbursement_confirm").click()
    expect(page.get_by_test_id("loan-status")).to_have_text("Disbursed")
    expect(page.get_by_test_id("schedule-row")).to_have_count(12)

    loan = Loan.objects.get(policy=policy)
    assert loan.account_state == AccountState.ACTIVE
    assert sum(row.principal for row in loan.instalments.all()) == Decimal("3000000")
