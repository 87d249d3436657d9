"""Writing off a loan from the loan page: offered to administrators on a running loan only (the same
`write_off_refusal` the service refuses with), a note required, an HTMX swap of the panel or a redirect
for a full page, 409 with the fresh panel when the loan stopped running meanwhile, and 403 saying why
for every other role."""

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.loans import services
from portal.loans.models import AccountState
from portal.loans.repayments import loan_write_off

from .factories import CustomerFactory, UserFactory, apply_loan, issue_policy
from .helpers import approved, fresh, signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
BUTTON = 'data-testid="write-off-submit"'


@pytest.fixture
def loan(agent, settings):
    loan = approved(apply_loan(policy=issue_policy(customer=CustomerFactory(agent=agent))), settings)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="B")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    return fresh(loan)


def page(client, loan):
    return client.get(reverse("loans:loan_detail", args=[loan.pk])).content.decode()


def write_off(client, loan, note="Cliente ilocalizable tras 180 días", *, htmx=True):
    url = reverse("loans:loan_write_off", args=[loan.pk])
    return client.post(url, {"note": note}, headers=HTMX if htmx else {})


def test_an_administrator_writes_off_a_running_loan_with_an_htmx_swap(client, loan, admin_user):
    signed_in(client, admin_user)
    assert BUTTON in page(client, loan)

    response = write_off(client, loan)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#loan-panel" and response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert 'id="loan-panel"' in body and "<html" not in body and BUTTON not in body
    loan = fresh(loan)
    assert loan.account_state == AccountState.WRITTEN_OFF and loan.closed_at is not None
    event = AuditEvent.objects.get(action="loan.written_off", target_id=str(loan.pk))
    assert event.metadata["note"] == "Cliente ilocalizable tras 180 días"


def test_a_full_page_write_off_redirects_to_the_loan_page(client, loan, admin_user):
    signed_in(client, admin_user)

    response = write_off(client, loan, htmx=False)

    assert response.status_code == 302 and response.url == reverse("loans:loan_detail", args=[loan.pk])
    assert fresh(loan).account_state == AccountState.WRITTEN_OFF


def test_a_write_off_without_a_note_is_422_and_changes_nothing(client, loan, admin_user):
    signed_in(client, admin_user)

    response = write_off(client, loan, note="   ")

    assert response.status_code == 422
    assert 'data-testid="write-off-error"' in response.content.decode()
    assert fresh(loan).account_state == AccountState.ACTIVE
    assert not AuditEvent.objects.filter(action="loan.written_off").exists()


def test_a_stale_page_gets_409_and_the_fresh_panel_without_the_button(client, loan, admin_user):
    signed_in(client, admin_user)
    assert BUTTON in page(client, loan)
    loan_write_off(loan=loan, actor=UserFactory(role=Role.ADMIN), note="Otro administrador primero")

    response = write_off(client, loan)

    assert response.status_code == 409
    body = response.content.decode()
    assert 'id="loan-panel"' in body and BUTTON not in body and "not running" in body
    assert AuditEvent.objects.filter(action="loan.written_off").count() == 1


def test_a_loan_not_yet_disbursed_offers_no_write_off(client, admin_user):
    signed_in(client, admin_user)
    loan = apply_loan()

    assert BUTTON not in page(client, loan)
    assert write_off(client, loan).status_code == 409
    assert fresh(loan).account_state == ""


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.FINANCE, Role.INTERVENTORIA])
def test_every_other_role_is_not_offered_the_write_off_and_is_refused_with_403(client, loan, agent, supervisor, role):
    user = {Role.AGENT: agent, Role.SUPERVISOR: supervisor}.get(role) or UserFactory(role=role)
    signed_in(client, user)
    assert loan.number in page(client, loan) and BUTTON not in page(client, loan)

    response = write_off(client, loan)

    assert response.status_code == 403
    assert "Only administrators write off loans." in response.content.decode()
    assert fresh(loan).account_state == AccountState.ACTIVE


def test_a_customer_signed_in_to_the_portal_is_refused(client, loan, client_user):
    signed_in(client, client_user)

    assert write_off(client, loan).status_code == 403
    assert fresh(loan).account_state == AccountState.ACTIVE
