"""Demo claims: one in every state through the real services, and bulk volume claims that keep every rule."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.claims import demo
from portal.claims.models import ApprovalAuthority, Claim, ClaimDocument, ClaimTransition
from portal.claims.services import claim_actions_available
from portal.payments.demo import pay_out_claim
from portal.payments.models import ClaimPayout
from portal.policies.demo import seed_demo_policies

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"^SIN-\d{4}-\d{6,}$")


@pytest.fixture
def demo_book(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    seed_demo_users()
    seed_demo_policies()


def counts():
    return (
        Claim.objects.count(),
        ClaimTransition.objects.count(),
        ClaimDocument.objects.count(),
        ClaimPayout.objects.count(),
        ApprovalAuthority.objects.count(),
        User.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_demo_claims_files_a_claim_in_every_state_and_a_second_run_changes_nothing(demo_book):
    logins = demo.seed_demo_claims(pay_out=pay_out_claim)
    before = counts()

    assert demo.seed_demo_claims(pay_out=pay_out_claim) == logins == [("finance2@amparo.demo", Role.FINANCE)]

    assert counts() == before
    assert set(Claim.objects.values_list("status", flat=True)) == set(Claim.Status.values)


def test_every_demo_claim_has_the_history_its_status_needs(demo_book):
    demo.seed_demo_claims(pay_out=pay_out_claim)
    for claim in Claim.objects.all():
        history = list(claim.transitions.order_by("created_at", "id"))
        assert history[0].action == "file"
        assert history[-1].to_status == claim.status
        assert claim.revision == len(history)
        assert AuditEvent.objects.filter(target_type="claims.claim", target_id=str(claim.pk)).count() >= len(history)
        assert claim.decided_by_id != claim.filed_by_id


def test_demo_paid_claims_were_paid_by_a_payout_one_finance_user_prepared_and_another_confirmed(demo_book):
    demo.seed_demo_claims(pay_out=pay_out_claim)
    paid = Claim.objects.filter(transitions__action="pay")
    assert paid.count() == 2
    for claim in paid:
        payout = ClaimPayout.objects.get(claim=claim)
        assert payout.status == ClaimPayout.Status.CONFIRMED
        assert payout.amount == claim.approved_amount
        assert {payout.prepared_by.role, payout.confirmed_by.role} == {Role.FINANCE}
        assert payout.prepared_by != payout.confirmed_by


def test_demo_supervisors_hold_approval_limits_and_the_truck_claim_is_above_them(demo_book):
    demo.seed_demo_claims(pay_out=pay_out_claim)
    sergio = User.objects.get(email_primary="supervisor@amparo.demo")
    assert ApprovalAuthority.objects.get(user=sergio, currency="COP").limit == Decimal("20000000")
    assert ApprovalAuthority.objects.filter(user__email_primary="supervisor2@amparo.demo").exists()
    assert AuditEvent.objects.filter(action="claim.approval_limit_granted").count() == 2

    under_review = Claim.objects.filter(status=Claim.Status.UNDER_REVIEW)
    within = under_review.get(claimed_amount__lte=Decimal("20000000"))
    above = under_review.get(claimed_amount__gt=Decimal("20000000"))
    assert "approve" in {t.action for t in claim_actions_available(within, sergio)}
    assert "approve" not in {t.action for t in claim_actions_available(above, sergio)}
    admin = User.objects.get(email_primary="admin@amparo.demo")
    assert "approve" in {t.action for t in claim_actions_available(above, admin)}


def test_demo_claims_carry_a_photo_and_a_pdf_stored_privately(demo_book):
    demo.seed_demo_claims(pay_out=pay_out_claim)
    documents = {document.content_type: document for document in ClaimDocument.objects.all()}
    assert set(documents) == {"image/jpeg", "application/pdf"}
    for document in documents.values():
        assert document.size > 0 and len(document.sha256) == 64
        assert document.stored_name != document.original_name


# --- volume -------------------------------------------------------------------------------------


@pytest.fixture
def scale_book(demo_book):
    demo.seed_demo_claims(pay_out=pay_out_claim)


def test_seed_scale_claims_adds_that_many_numbered_claims_and_a_rerun_tops_up(scale_book):
    assert demo.seed_scale_claims(120) == 120
    claims = demo.scale_claims()
    numbers = list(claims.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 120
    assert all(NUMBER.match(number) for number in numbers)

    assert demo.seed_scale_claims(120) == 0
    assert demo.seed_scale_claims(150) == 30
    assert claims.count() == 150


def test_scale_claims_have_the_transition_history_their_status_needs(scale_book):
    demo.seed_scale_claims(300)
    claims = demo.scale_claims().prefetch_related("transitions")
    assert {Claim.Status.UNDER_REVIEW, Claim.Status.REJECTED, Claim.Status.PAID, Claim.Status.CLOSED} <= set(
        claims.values_list("status", flat=True)
    )
    now = timezone.now()
    for claim in claims:
        history = sorted(claim.transitions.all(), key=lambda t: (t.created_at, t.pk))
        assert history[0].action == "file" and history[0].actor_id == claim.filed_by_id
        assert history[0].amount == claim.claimed_amount
        assert [t.from_status for t in history[1:]] == [t.to_status for t in history[:-1]]
        assert history[-1].to_status == claim.status
        assert claim.revision == len(history)
        assert claim.status_changed_at == history[-1].created_at <= now
        assert claim.created_at == history[0].created_at


def test_scale_claims_keep_the_workflow_rules(scale_book):
    demo.seed_scale_claims(300)
    limits = dict(ApprovalAuthority.objects.values_list("user_id", "limit"))
    roles = dict(User.objects.values_list("pk", "role"))
    for claim in demo.scale_claims().select_related("customer", "policy_version"):
        assert claim.filed_by_id == claim.customer.agent_id
        version = claim.policy_version
        assert version.start_date <= claim.loss_date < version.end_date
        assert claim.loss_date <= timezone.localdate(claim.created_at)
        line = next(line for line in version.coverages if line["code"] == claim.coverage_code)
        assert claim.coverage_name == line["name"]
        assert Decimal("0") < claim.claimed_amount <= Decimal(str(line["limit"]))
        for transition in claim.transitions.all():
            if transition.action == "approve":
                assert transition.actor_id not in (claim.filed_by_id, claim.reviewed_by_id)
                assert transition.amount == claim.approved_amount <= claim.claimed_amount
                if roles[transition.actor_id] == Role.SUPERVISOR:
                    assert claim.claimed_amount <= limits[transition.actor_id]
            if transition.action == "reject":
                assert transition.rejection_reason_id == claim.rejection_reason_id is not None
            if transition.action == "pay":
                assert roles[transition.actor_id] == Role.FINANCE


def test_scale_claims_never_approve_more_than_a_coverage_gives_in_the_policy_term(scale_book):
    demo.seed_scale_claims(400)
    totals = {}
    for claim in demo.scale_claims().filter(approved_amount__isnull=False).select_related("policy_version"):
        key = (claim.policy_version_id, claim.coverage_code)
        line = next(line for line in claim.policy_version.coverages if line["code"] == claim.coverage_code)
        totals[key] = totals.get(key, Decimal("0")) + claim.approved_amount
        assert totals[key] <= Decimal(str(line["limit"]))


def test_scale_claims_make_more_volume_policies_when_too_few_have_started(scale_book):
    from portal.policies.models import Policy

    demo.seed_scale_claims(40)
    today = timezone.localdate()
    started = Policy.objects.filter(
        customer__email_primary__endswith=demo.SCALE_CUSTOMERS, current_version__start_date__lte=today
    )
    assert started.count() * demo.CLAIMS_PER_POLICY >= 40
    assert not demo.scale_claims().filter(loss_date__gt=today).exists()
    assert not demo.scale_claims().filter(created_at__gt=timezone.now() + timedelta(seconds=1)).exists()


def foreign_keys():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conname",
            [demo.SCALE_TABLES],
        )
        return cursor.fetchall()


@pytest.mark.postgres
def test_a_large_load_on_postgresql_puts_back_every_foreign_key_it_set_aside(scale_book, monkeypatch):
    monkeypatch.setattr(demo, "BULK_LOAD_ROWS", 1)
    before = foreign_keys()
    assert len(before) >= 10

    demo.seed_scale_claims(200)

    assert foreign_keys() == before
    assert demo.scale_claims().count() == 200


@pytest.mark.postgres
def test_a_failed_large_load_leaves_no_claims_and_every_foreign_key_in_place(scale_book, monkeypatch):
    monkeypatch.setattr(demo, "BULK_LOAD_ROWS", 1)
    before = foreign_keys()

    def broken(claims, transitions):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_write", broken)
    with pytest.raises(RuntimeError):
        demo.seed_scale_claims(50)

    assert foreign_keys() == before
    assert not demo.scale_claims().exists()
