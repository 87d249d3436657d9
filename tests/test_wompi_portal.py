"""The portal pages of online payments: an agent or finance starts a Nequi or PSE payment for a
customer and follows it; what a payer's browser says about the payment is never taken for it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.gateways.models import GatewayTransaction
from portal.payments.models import Payment

from .factories import CustomerFactory, TeamFactory, UserFactory
from .helpers import nequi_payment_started
from .wompi_server import APPROVING_BANK, APPROVING_NEQUI

START_URL = reverse("gateways:payment_start")
Status = GatewayTransaction.Status


def nequi_form(customer, **overrides):
    return {"customer": customer.pk, "amount": "45000", "method": "NEQUI", "phone_number": APPROVING_NEQUI, **overrides}


def pse_form(customer, **overrides):
    return {
        "customer": customer.pk,
        "amount": "120000.50",
        "method": "PSE",
        "user_type": "0",
        "user_legal_id_type": "CC",
        "user_legal_id": "1999888777",
        "financial_institution_code": APPROVING_BANK,
        "payment_description": "Prima póliza AUTO",
        **overrides,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("asked_for", ["²", "9" * 40, "1; DROP", ""])
def test_a_customer_parameter_that_is_not_an_id_opens_the_form_without_a_customer(client, wompi, agent, asked_for):
    client.force_login(agent)

    response = client.get(START_URL, {"customer": asked_for})

    assert response.status_code == 200
    assert response.context["form"]["customer"].value() is None


@pytest.mark.django_db
def test_the_form_opens_for_the_customer_asked_for(client, wompi, agent, customer):
    client.force_login(agent)

    response = client.get(START_URL, {"customer": customer.pk})

    assert response.status_code == 200
    assert response.context["form"]["customer"].value() == customer.pk
    assert 'data-testid="nequi-fields"' in response.content.decode()


@pytest.mark.django_db
def test_an_agent_sends_a_nequi_payment_and_lands_on_its_page(client, wompi, agent, customer):
    client.force_login(agent)

    response = client.post(START_URL, nequi_form(customer), follow=True)

    attempt = GatewayTransaction.objects.get()
    assert response.redirect_chain[-1][0] == reverse("gateways:transaction_detail", args=[attempt.pk])
    assert (attempt.customer, attempt.created_by, attempt.amount, attempt.status) == (
        customer,
        agent,
        Decimal("45000.00"),
        Status.PENDING,
    )
    page = response.content.decode()
    assert attempt.reference in page
    assert 'hx-trigger="every 5s"' in page
    assert attempt.wompi_id in wompi.transactions


@pytest.mark.django_db
def test_a_bad_nequi_number_is_shown_on_its_field_and_nothing_is_sent(client, wompi, agent, customer):
    client.force_login(agent)

    response = client.post(START_URL, nequi_form(customer, phone_number="555"))

    assert response.status_code == 422
    assert response.context["form"].errors["phone_number"]
    assert not GatewayTransaction.objects.exists()
    assert wompi.transactions == {}


@pytest.mark.django_db
def test_choosing_pse_shows_wompis_banks(client, wompi, agent, customer):
    client.force_login(agent)

    response = client.get(START_URL, {"method": "PSE"}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "Banco que aprueba" in page
    assert 'data-testid="pse-fields"' in page
    assert "<html" not in page


@pytest.mark.django_db
def test_when_wompis_bank_list_cannot_be_loaded_the_form_says_so(client, wompi, agent, settings):
    settings.WOMPI_ATTEMPTS = 1
    wompi.drop_connections(1)
    client.force_login(agent)

    response = client.get(START_URL, {"method": "PSE"})

    assert response.status_code == 200
    assert 'data-testid="banks-unavailable"' in response.content.decode()


@pytest.mark.django_db
def test_a_pse_payment_shows_the_bank_link_once_wompi_gives_it(client, wompi, finance_user, customer):
    client.force_login(finance_user)

    response = client.post(START_URL, pse_form(customer), follow=True)

    attempt = GatewayTransaction.objects.get()
    assert attempt.method_details["financial_institution_name"] == "Banco que aprueba"
    assert 'data-testid="bank-link-waiting"' in response.content.decode()
    refreshed = client.post(reverse("gateways:transaction_refresh", args=[attempt.pk]), follow=True)
    assert f"{wompi.root}/pse-bank/{attempt.wompi_id}" in refreshed.content.decode()


@pytest.mark.django_db
def test_a_refusal_from_wompi_is_shown_on_the_form(client, wompi, agent, customer, settings):
    settings.WOMPI_INTEGRITY_SECRET = "test_integrity_wrong"
    client.force_login(agent)

    response = client.post(START_URL, nequi_form(customer))

    assert response.status_code == 422
    assert "Wompi refused the payment" in " ".join(response.context["form"].non_field_errors())


@pytest.mark.django_db
def test_an_agent_cannot_charge_a_customer_outside_their_book(client, wompi, agent):
    stranger = CustomerFactory(agent=UserFactory(role=Role.AGENT, team=TeamFactory()))
    client.force_login(agent)

    response = client.post(START_URL, nequi_form(stranger))

    assert response.status_code == 422
    assert response.context["form"].errors["customer"]
    assert not GatewayTransaction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INTERVENTORIA, Role.CLIENT])
def test_interventoria_and_customers_do_not_start_payments_in_the_portal(client, wompi, role):
    client.force_login(UserFactory(role=role))

    assert client.get(START_URL).status_code == 403


@pytest.mark.django_db
def test_asking_wompi_from_the_page_records_the_approval(client, wompi, agent, customer):
    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    client.force_login(agent)

    response = client.post(reverse("gateways:transaction_refresh", args=[attempt.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="payment-recorded"' in page
    assert "every 5s" not in page
    assert Payment.objects.get().reference == attempt.reference


@pytest.mark.django_db
def test_asking_wompi_while_it_is_down_says_so(client, wompi, agent, customer, settings):
    attempt = nequi_payment_started(customer, agent)
    settings.WOMPI_ATTEMPTS = 1
    wompi.drop_connections(1)
    client.force_login(agent)

    response = client.post(reverse("gateways:transaction_refresh", args=[attempt.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "Wompi did not answer" in response.content.decode()


@pytest.mark.django_db
def test_the_payment_page_is_in_the_agents_scope(client, wompi, agent, customer, supervisor, finance_user):
    attempt = nequi_payment_started(customer, agent)
    url = reverse("gateways:transaction_detail", args=[attempt.pk])
    other_agent = UserFactory(role=Role.AGENT, team=TeamFactory())

    for user, status in [(agent, 200), (supervisor, 200), (finance_user, 200), (other_agent, 404)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user.role


@pytest.mark.django_db
def test_the_page_shows_wompis_events_to_finance_only(
    client, wompi, agent, customer, finance_user, django_capture_on_commit_callbacks
):
    from django.test import Client

    attempt = nequi_payment_started(customer, agent)
    wompi.settle(attempt.wompi_id)
    body, headers = wompi.event(attempt.wompi_id)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("api:wompi_webhook"), data=body, content_type="application/json", headers=headers)
    url = reverse("gateways:transaction_detail", args=[attempt.pk])

    client.force_login(finance_user)
    assert 'data-testid="events"' in client.get(url).content.decode()
    client.force_login(agent)
    assert 'data-testid="events"' not in client.get(url).content.decode()


@pytest.mark.django_db
def test_the_return_page_tells_the_payer_to_wait_and_believes_nothing_in_its_address(client, wompi, agent, customer):
    attempt = nequi_payment_started(customer, agent)

    response = client.get(reverse("gateways:payment_return"), {"id": attempt.wompi_id, "status": "APPROVED"})

    assert response.status_code == 200
    assert 'data-testid="payment-return"' in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == Status.PENDING
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_interventoria_sees_a_payment_but_does_not_ask_wompi_about_it(client, wompi, agent, customer, auditor):
    attempt = nequi_payment_started(customer, agent)
    client.force_login(auditor)

    page = client.get(reverse("gateways:transaction_detail", args=[attempt.pk])).content.decode()
    response = client.post(reverse("gateways:transaction_refresh", args=[attempt.pk]))

    assert 'data-testid="refresh"' not in page
    assert response.status_code == 403
    assert wompi.calls("GET", f"/v1/transactions/{attempt.wompi_id}") == 0
