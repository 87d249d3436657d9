"""Claim payouts, maker-checker: one finance user prepares the payout of an approved claim, a different
one confirms it, and confirming records the transfer, the ledger entries and the claim as PAID in one
transaction. The same user is refused, by the service and by the database."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import Claim
from portal.claims.services import claim_approve, claim_start_review
from portal.core.exceptions import Conflict
from portal.payments.models import ClaimPayout, LedgerEntry, Payment
from portal.payments.services import payout_cancel, payout_confirm, payout_prepare

from .factories import CustomerFactory, UserFactory, file_claim, issue_policy
from .helpers import HTMX

APPROVED = Decimal("4200000.00")
PAYEE = "Bancolombia ahorros 123-456789-01"


@pytest.fixture
def claim(agent, supervisor):
    policy = issue_policy(actor=agent, customer=CustomerFactory(agent=agent))
    claim = file_claim(policy=policy, actor=agent)
    claim = claim_start_review(claim=claim, actor=supervisor)
    return claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount=APPROVED, note="Peritaje conforme")


@pytest.fixture
def maker(db):
    return UserFactory(role=Role.FINANCE, full_name="Marta Preparadora")


@pytest.fixture
def checker(db):
    return UserFactory(role=Role.FINANCE, full_name="Carlos Verificador")


def reloaded(claim):
    return Claim.objects.get(pk=claim.pk)


def footprint():
    return (
        ClaimPayout.objects.count(),
        list(ClaimPayout.objects.order_by("pk").values_list("status", flat=True)),
        Payment.objects.count(),
        LedgerEntry.objects.count(),
        list(Claim.objects.order_by("pk").values_list("status", flat=True)),
    )


# --- prepare ----------------------------------------------------------------------------------------------


def test_finance_prepares_the_payout_of_an_approved_claim_for_its_approved_amount(claim, maker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=f"  {PAYEE} ")

    assert payout.status == ClaimPayout.Status.PREPARED
    assert (payout.amount, payout.currency, payout.payee_account) == (APPROVED, "COP", PAYEE)
    assert payout.account.customer == claim.customer
    assert payout.number == f"GIRO-{timezone.localdate().year}-000001"
    assert reloaded(claim).status == Claim.Status.APPROVED
    assert not LedgerEntry.objects.filter(payout=payout).exists()
    assert AuditEvent.objects.get(action="payout.prepared").metadata["amount"] == str(APPROVED)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.INTERVENTORIA])
def test_only_finance_and_administrators_prepare_payouts(claim, role):
    before = footprint()

    with pytest.raises(ValidationError):
        payout_prepare(claim=claim, actor=UserFactory(role=role), payee_account=PAYEE)

    assert footprint() == before


def test_a_claim_that_is_not_approved_gets_no_payout(agent, maker):
    claim = file_claim(actor=agent)

    with pytest.raises(Conflict) as refused:
        payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    assert "only approved claims are paid" in refused.value.messages[0]
    assert not ClaimPayout.objects.exists()


def test_a_second_payout_for_the_same_claim_is_refused_while_the_first_stands(claim, maker, checker):
    payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    with pytest.raises(Conflict):
        payout_prepare(claim=claim, actor=checker, payee_account=PAYEE)

    assert ClaimPayout.objects.count() == 1


def test_the_database_keeps_one_live_payout_per_claim(claim, maker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimPayout.objects.create(
            number="GIRO-X",
            claim=claim,
            account=payout.account,
            amount=APPROVED,
            currency="COP",
            payee_account=PAYEE,
            prepared_by=maker,
        )


def test_a_payout_needs_the_account_it_goes_to(claim, maker):
    with pytest.raises(ValidationError) as refused:
        payout_prepare(claim=claim, actor=maker, payee_account="   ")

    assert "payee_account" in refused.value.message_dict


# --- confirm: four eyes ------------------------------------------------------------------------------------------


def test_another_finance_user_confirms_and_the_claim_is_paid_with_the_transfer_and_its_entries(claim, maker, checker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    payout = payout_confirm(payout=payout, actor=checker)

    assert payout.status == ClaimPayout.Status.CONFIRMED
    assert (payout.confirmed_by, payout.prepared_by) == (checker, maker)
    payment = payout.payment
    assert (payment.direction, payment.method, payment.amount, payment.reference) == (
        Payment.Direction.OUT,
        Payment.Method.BANK_TRANSFER,
        APPROVED,
        payout.number,
    )
    entries = {e.kind: e.amount for e in LedgerEntry.objects.filter(payout=payout)}
    assert entries == {LedgerEntry.Kind.CLAIM_PAYOUT: -APPROVED, LedgerEntry.Kind.DISBURSEMENT: APPROVED}
    claim = reloaded(claim)
    assert claim.status == Claim.Status.PAID
    assert claim.transitions.order_by("-pk").first().actor == checker
    assert AuditEvent.objects.filter(action="payout.confirmed", target_id=str(payout.pk)).count() == 1


def test_the_payout_leaves_what_the_customer_owes_as_it_was(claim, maker, checker):
    owed = sum(LedgerEntry.objects.filter(account__customer=claim.customer).values_list("amount", flat=True))

    payout_confirm(payout=payout_prepare(claim=claim, actor=maker, payee_account=PAYEE), actor=checker)

    assert sum(LedgerEntry.objects.filter(account__customer=claim.customer).values_list("amount", flat=True)) == owed


def test_whoever_prepared_a_payout_cannot_confirm_it(claim, maker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)
    before = footprint()

    with pytest.raises(ValidationError) as refused:
        payout_confirm(payout=payout, actor=maker)

    assert "another finance user must confirm it" in refused.value.messages[0]
    assert footprint() == before


def test_the_database_refuses_a_payout_confirmed_by_its_preparer(claim, maker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimPayout.objects.filter(pk=payout.pk).update(confirmed_by=maker)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.INTERVENTORIA])
def test_only_finance_and_administrators_confirm(claim, maker, role):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    with pytest.raises(ValidationError):
        payout_confirm(payout=payout, actor=UserFactory(role=role))

    assert reloaded(claim).status == Claim.Status.APPROVED


def test_an_administrator_may_be_the_second_pair_of_eyes(claim, maker, admin_user):
    payout = payout_confirm(payout=payout_prepare(claim=claim, actor=maker, payee_account=PAYEE), actor=admin_user)

    assert payout.status == ClaimPayout.Status.CONFIRMED


def test_a_payout_is_confirmed_once(claim, maker, checker, admin_user):
    payout = payout_confirm(payout=payout_prepare(claim=claim, actor=maker, payee_account=PAYEE), actor=checker)
    before = footprint()

    with pytest.raises(Conflict):
        payout_confirm(payout=payout, actor=admin_user)

    assert footprint() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_users_confirming_at_once_pay_the_claim_once(claim, maker, checker, admin_user):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm(actor):
        try:
            barrier.wait(timeout=30)
            payout_confirm(payout=payout, actor=actor)
            outcomes.append("confirmed")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(user,)) for user in (checker, admin_user)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["confirmed", "refused"]
    assert Payment.objects.filter(direction=Payment.Direction.OUT).count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CLAIM_PAYOUT).count() == 1


# --- cancel ----------------------------------------------------------------------------------------------------


def test_a_cancelled_payout_lets_the_claim_be_prepared_again(claim, maker, checker):
    first = payout_prepare(claim=claim, actor=maker, payee_account="Wrong account")

    payout_cancel(payout=first, actor=maker, reason="Wrong account number")
    second = payout_prepare(claim=claim, actor=checker, payee_account=PAYEE)

    first.refresh_from_db()
    assert (first.status, first.cancelled_by, first.cancel_reason) == (
        ClaimPayout.Status.CANCELLED,
        maker,
        "Wrong account number",
    )
    assert second.status == ClaimPayout.Status.PREPARED


def test_a_cancellation_needs_a_reason_and_a_confirmed_payout_cannot_be_cancelled(claim, maker, checker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)
    with pytest.raises(ValidationError):
        payout_cancel(payout=payout, actor=maker, reason="")

    payout_confirm(payout=payout, actor=checker)
    with pytest.raises(Conflict):
        payout_cancel(payout=payout, actor=maker, reason="Too late")


# --- the payouts page --------------------------------------------------------------------------------------------


def test_the_preparer_sees_no_confirm_button_and_the_other_finance_user_does(client, claim, maker, checker):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)

    client.force_login(maker)
    page = client.get(reverse("payments:payout_list")).content.decode()
    assert f'data-testid="confirm-{payout.number}"' not in page
    assert 'data-testid="needs-other-user"' in page

    client.force_login(checker)
    page = client.get(reverse("payments:payout_list")).content.decode()
    assert f'data-testid="confirm-{payout.number}"' in page


def test_preparing_and_confirming_through_the_page(client, claim, maker, checker):
    client.force_login(maker)
    page = client.get(reverse("payments:payout_list")).content.decode()
    assert f'data-testid="awaiting-{claim.number}"' in page

    answer = client.post(reverse("payments:payout_prepare", args=[claim.pk]), {"payee_account": PAYEE}, headers=HTMX)
    assert answer.status_code == 200
    payout = ClaimPayout.objects.get()
    assert f'data-testid="payout-{payout.number}"' in answer.content.decode()

    answer = client.post(reverse("payments:payout_confirm", args=[payout.pk]), headers=HTMX)
    assert answer.status_code == 422
    assert "another finance user must confirm it" in answer.content.decode()

    client.force_login(checker)
    answer = client.post(reverse("payments:payout_confirm", args=[payout.pk]))
    assert answer.status_code == 302
    assert reloaded(claim).status == Claim.Status.PAID


def test_the_prepare_page_a_claim_links_to_shows_the_form_and_refuses_an_empty_account(client, claim, maker):
    client.force_login(maker)
    url = reverse("payments:payout_prepare", args=[claim.pk])

    assert client.get(url).status_code == 200
    answer = client.post(url, {"payee_account": ""})

    assert answer.status_code == 422
    assert not ClaimPayout.objects.exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_cannot_open_the_payouts_page(client, claim, role):
    client.force_login(UserFactory(role=role))

    assert client.get(reverse("payments:payout_list")).status_code == 403
    assert client.post(reverse("payments:payout_prepare", args=[claim.pk]), {"payee_account": PAYEE}).status_code == 403


def test_interventoria_sees_payouts_but_cannot_act_on_them(client, claim, maker, auditor):
    payout = payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)
    client.force_login(auditor)

    page = client.get(reverse("payments:payout_list")).content.decode()
    assert payout.number in page
    assert f'data-testid="confirm-{payout.number}"' not in page
    assert client.post(reverse("payments:payout_confirm", args=[payout.pk])).status_code == 403


def test_a_paid_claim_reopened_for_review_cannot_be_approved_again_and_can_still_be_settled(
    claim, maker, checker, admin_user, supervisor
):
    from django.core.exceptions import PermissionDenied

    from portal.claims.models import RejectionReason
    from portal.claims.services import claim_actions_available, claim_close, claim_reject, claim_reopen

    payout_confirm(payout=payout_prepare(claim=claim, actor=maker, payee_account=PAYEE), actor=checker)
    claim = claim_close(claim=reloaded(claim), actor=admin_user)
    claim = claim_reopen(claim=claim, actor=admin_user, note="El asegurado aporta nuevas facturas")
    other_admin = UserFactory(role=Role.ADMIN)

    assert "approve" not in [t.action for t in claim_actions_available(reloaded(claim), other_admin)]
    with pytest.raises(PermissionDenied, match="paid already"):
        claim_approve(claim=reloaded(claim), actor=other_admin, amount="100000", note="Suplemento")

    claim = claim_reject(
        claim=reloaded(claim), actor=other_admin, reason=RejectionReason.objects.first(), note="Ya indemnizado"
    )
    claim = claim_close(claim=claim, actor=admin_user)
    assert reloaded(claim).status == Claim.Status.CLOSED
    assert ClaimPayout.objects.filter(claim=claim, status=ClaimPayout.Status.CONFIRMED).count() == 1
