"""Claims in the browser: an agent files a claim with a photo and starts its review; the team's
supervisor approves it within their limit; a claim above the limit offers the supervisor no
approval and the administrator approves it; a supervisor closes several claims at once and sees
what happened to each."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import User
from portal.claims import services
from portal.claims.models import Claim, ClaimDocument, RejectionReason
from portal.policies.demo import seed_demo_policies
from portal.policies.models import Policy
from tests.factories import file_claim, grant_approval_limit

from .helpers import assert_same_document, mark_document, open_from_navigation, sign_in

pytestmark = pytest.mark.e2e

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
LIMIT = "2500000"


@pytest.fixture
def book(demo, settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    seed_demo_policies()
    grant_approval_limit(User.objects.get(email_primary="supervisor@amparo.demo"), LIMIT)


@pytest.fixture
def policy(book):
    return (
        Policy.objects.filter(
            customer__agent__email_primary="agent@amparo.demo", status="ACTIVE", product__code="HOGAR"
        )
        .order_by("pk")
        .first()
    )


def user(email):
    return User.objects.get(email_primary=email)


def under_review(policy, amount):
    """A claim the agent filed and put under review: somebody else must decide on it."""
    agent = user("agent@amparo.demo")
    claim = file_claim(
        policy=policy, actor=agent, coverage_code=policy.current_version.coverages[0]["code"], claimed_amount=amount
    )
    return services.claim_start_review(claim=claim, actor=agent)


def open_claim(page: Page, claim):
    page.goto(f"/claims/{claim.pk}/")
    expect(page.get_by_test_id("claim-number")).to_contain_text(claim.number)


def test_an_agent_files_a_claim_with_a_photo_and_starts_its_review(page, policy, tmp_path):
    photo = tmp_path / "daño-cocina.jpg"
    photo.write_bytes(JPEG)
    sign_in(page, "agent@amparo.demo", DEMO_PASSWORD)
    page.goto(f"/policies/{policy.pk}/")
    page.get_by_test_id("file-claim").click()

    form = page.get_by_test_id("claim-form")
    expect(form.get_by_label("Policy number")).to_have_value(policy.number)
    mark_document(page)
    form.get_by_label("Date of loss").fill((timezone.localdate() - timedelta(days=2000)).isoformat())
    expect(page.get_by_test_id("no-cover")).to_be_visible()
    form.get_by_label("Date of loss").fill((timezone.localdate() - timedelta(days=2)).isoformat())
    expect(page.get_by_test_id("no-cover")).to_have_count(0)
    expect(page.get_by_test_id("policy-summary")).to_contain_text("was in force on the date of loss")
    assert_same_document(page)
    form.get_by_label("Coverage").select_option(index=1)
    form.get_by_label("Amount claimed").fill("1800000")
    form.get_by_label("What happened").fill("Fuga de agua en la cocina")
    form.locator("input[name=documents]").set_input_files(str(photo))
    page.get_by_test_id("file-claim-submit").click()

    expect(page).to_have_url(re.compile(r"/claims/\d+/$"))
    expect(page.get_by_test_id("claim-status")).to_have_text("Pending")
    expect(page.get_by_test_id("document-row")).to_contain_text("daño-cocina.jpg")
    mark_document(page)
    page.get_by_test_id("action-start_review").click()
    expect(page.get_by_test_id("claim-status")).to_have_text("Under review")
    expect(page.get_by_test_id("timeline-start_review")).to_be_visible()
    assert_same_document(page)

    claim = Claim.objects.get(policy=policy)
    assert claim.status == "UNDER_REVIEW" and claim.reviewed_by == user("agent@amparo.demo")
    assert ClaimDocument.objects.get(claim=claim).content_type == "image/jpeg"


def test_the_supervisor_approves_a_claim_within_their_limit_from_the_work_queue(page, policy):
    claim = under_review(policy, "2000000")
    sign_in(page, "supervisor@amparo.demo", DEMO_PASSWORD)
    open_from_navigation(page, "claims:claim_list")
    expect(page.get_by_test_id("filter-form").get_by_label("Status")).to_have_value("UNDER_REVIEW")
    page.get_by_role("link", name=claim.number).click()

    mark_document(page)
    page.get_by_test_id("open-approve").click()
    form = page.get_by_test_id("action-form-approve")
    expect(form.get_by_label("Amount approved (COP)")).to_have_value("2000000.00")
    form.get_by_label("Note").fill("Peritaje conforme")
    form.get_by_test_id("submit-approve").click()

    expect(page.get_by_test_id("claim-status")).to_have_text("Approved")
    expect(page.get_by_test_id("flash")).to_contain_text(f"Claim {claim.number} approved for COP 2,000,000.00.")
    assert_same_document(page)
    claim.refresh_from_db()
    assert (claim.status, claim.decided_by) == ("APPROVED", user("supervisor@amparo.demo"))


def test_a_claim_above_the_supervisors_limit_is_approved_by_the_administrator(new_page, policy):
    claim = under_review(policy, "4000000")
    supervisor = new_page()
    sign_in(supervisor, "supervisor@amparo.demo", DEMO_PASSWORD)
    open_claim(supervisor, claim)
    expect(supervisor.get_by_test_id("open-reject")).to_be_visible()
    expect(supervisor.get_by_test_id("open-approve")).to_have_count(0)

    admin = new_page()
    sign_in(admin, "admin@amparo.demo", DEMO_PASSWORD)
    open_claim(admin, claim)
    admin.get_by_test_id("open-approve").click()
    form = admin.get_by_test_id("action-form-approve")
    form.get_by_label("Note").fill("Aprobado por encima del límite del supervisor")
    form.get_by_test_id("submit-approve").click()

    expect(admin.get_by_test_id("claim-status")).to_have_text("Approved")
    claim.refresh_from_db()
    assert (claim.status, claim.decided_by) == ("APPROVED", user("admin@amparo.demo"))


def test_a_supervisor_closes_several_claims_at_once_and_sees_the_result_of_each(page, policy):
    supervisor = user("supervisor@amparo.demo")
    # The browser tests flush the database, and the reasons the migration put there with it.
    reason, _created = RejectionReason.objects.get_or_create(
        code="not-covered", defaults={"label": "The loss is not covered by the policy"}
    )
    rejected = [under_review(policy, "1000000") for _ in range(2)]
    for claim in rejected:
        services.claim_reject(claim=claim, actor=supervisor, reason=reason, note="Fuera de cobertura")
    still_open = under_review(policy, "1000000")
    sign_in(page, "supervisor@amparo.demo", DEMO_PASSWORD)
    page.goto(f"/claims/?policy={policy.number}&sort=-created_at")

    expect(page.get_by_test_id("claim-row")).to_have_count(3)
    bulk_form = page.get_by_test_id("bulk-form")
    expect(bulk_form.get_by_test_id("matching")).to_have_text("All 3 claims matching this filter")
    page.get_by_test_id("select-page").check()
    bulk_form.get_by_label("Action").select_option(label="Close")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-summary")).to_have_text("Close: 3 claims.")
    page.get_by_test_id("bulk-confirm-submit").click()

    expect(page).to_have_url(re.compile(r"/claims/bulk/[0-9a-f-]+/$"))
    expect(page.get_by_test_id("bulk-done")).to_have_text("2")
    expect(page.get_by_test_id("bulk-refused")).to_have_text("1")
    results = page.get_by_test_id("bulk-result")
    expect(results).to_have_count(3)
    for claim in rejected:
        expect(page.locator(f'[data-claim="{claim.number}"]')).to_contain_text("Done")
    refused = page.locator(f'[data-claim="{still_open.number}"]')
    expect(refused).to_contain_text("Refused")
    expect(refused).to_contain_text("is under review now, so it cannot be closed")
    assert sorted(Claim.objects.filter(policy=policy).values_list("status", flat=True)) == [
        "CLOSED",
        "CLOSED",
        "UNDER_REVIEW",
    ]
