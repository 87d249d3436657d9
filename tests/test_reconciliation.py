"""The reconciliation page: online payments against the ledger for a date range, mismatches
highlighted, CSV export; open to finance, Interventoría and administrators only."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from portal.accounts.models import Role
from portal.gateways.models import GatewayTransaction, WebhookEvent
from portal.gateways.selectors import Issue, reconciliation_figures, reconciliation_rows
from portal.gateways.services import gateway_transaction_refresh
from portal.payments.services import payment_receive

from .factories import CustomerFactory, UserFactory
from .helpers import nequi_payment_started

URL = reverse("gateways:reconciliation")
EXPORT_URL = reverse("gateways:reconciliation_export")
Status = GatewayTransaction.Status


def approved(wompi, customer, actor, amount="45000"):
    attempt = nequi_payment_started(customer, actor, amount)
    wompi.settle(attempt.wompi_id)
    return gateway_transaction_refresh(gateway_transaction=attempt)


@pytest.fixture
def book(wompi, customer, agent):
    """One payment of each kind the reconciliation tells apart."""
    matching = approved(wompi, customer, agent)
    # Wompi approved it, but the ledger has no payment (e.g. the payments service refused it).
    unrecorded = nequi_payment_started(customer, agent, "20000")
    GatewayTransaction.objects.filter(pk=unrecorded.pk).update(status=Status.APPROVED)
    # The ledger's payment says another amount than Wompi collected.
    differing = nequi_payment_started(customer, agent, "30000")
    payment = payment_receive(
        customer=customer, amount="29000", currency="COP", method="NEQUI", reference=differing.reference, actor=None
    )
    GatewayTransaction.objects.filter(pk=differing.pk).update(status=Status.APPROVED, payment=payment)
    # Pending for three hours.
    stale = nequi_payment_started(customer, agent, "15000")
    GatewayTransaction.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=3))
    fresh = nequi_payment_started(customer, agent, "12000")
    return {"matching": matching, "unrecorded": unrecorded, "differing": differing, "stale": stale, "fresh": fresh}


def issues(user):
    today = timezone.localdate()
    rows = reconciliation_rows(user, date_from=today - timedelta(days=1), date_to=today, pending_hours=2)
    return {row.reference: row.issue for row in rows}


@pytest.mark.django_db
def test_each_online_payment_is_matched_against_the_ledger(book, finance_user):
    found = issues(finance_user)

    assert found == {
        book["matching"].reference: Issue.NONE,
        book["unrecorded"].reference: Issue.APPROVED_WITHOUT_PAYMENT,
        book["differing"].reference: Issue.AMOUNT_DIFFERS,
        book["stale"].reference: Issue.PENDING_TOO_LONG,
        book["fresh"].reference: Issue.NONE,
    }


@pytest.mark.django_db
def test_a_voided_payment_still_in_the_ledger_is_flagged(wompi, customer, agent, finance_user):
    attempt = approved(wompi, customer, agent)
    wompi.settle(attempt.wompi_id, status="VOIDED")
    gateway_transaction_refresh(gateway_transaction=attempt)

    assert issues(finance_user) == {attempt.reference: Issue.PAYMENT_NOT_APPROVED}


@pytest.mark.django_db
def test_the_figures_add_up_what_wompi_collected_and_what_the_ledger_holds(book, finance_user):
    today = timezone.localdate()
    # From yesterday: the payment pending for three hours began yesterday when the test runs before 03:00.
    rows = reconciliation_rows(finance_user, date_from=today - timedelta(days=1), date_to=today, pending_hours=2)
    figures = reconciliation_figures(rows)

    assert figures["transactions"] == 5
    assert figures["approved"] == 3
    assert figures["approved_amount"] == Decimal("95000")
    assert figures["recorded"] == Decimal("74000")
    assert figures["problems"] == 3
    assert figures["serious"] == 2


@pytest.mark.django_db
def test_the_page_highlights_the_mismatches_for_finance(client, book, finance_user):
    client.force_login(finance_user)

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="reconciliation-table"' in page
    assert page.count('class="table-danger ') == 2
    assert page.count('class="table-warning ') == 1
    assert escape(str(Issue.LABELS[Issue.APPROVED_WITHOUT_PAYMENT])) in page
    assert escape(str(Issue.LABELS[Issue.AMOUNT_DIFFERS])) in page
    assert 'data-testid="figure-problems">3<' in page


@pytest.mark.django_db
def test_only_the_problems_can_be_shown(client, book, finance_user):
    client.force_login(finance_user)

    response = client.get(URL, {"issue": "any"})

    rows = response.context["table"].data
    assert {row.reference for row in rows} == {
        book["unrecorded"].reference,
        book["differing"].reference,
        book["stale"].reference,
    }


@pytest.mark.django_db
def test_the_pending_threshold_is_the_users_choice(client, book, finance_user):
    client.force_login(finance_user)

    response = client.get(URL, {"issue": Issue.PENDING_TOO_LONG, "pending_hours": 4})

    assert list(response.context["table"].data) == []


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_results(client, book, finance_user):
    client.force_login(finance_user)

    response = client.get(URL, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert "reconciliation-table" in page
    assert "<html" not in page


@pytest.mark.django_db
def test_dates_in_the_wrong_order_are_explained_and_nothing_is_listed(client, book, finance_user):
    client.force_login(finance_user)
    today = timezone.localdate()

    response = client.get(URL, {"date_from": today.isoformat(), "date_to": (today - timedelta(days=3)).isoformat()})

    assert response.status_code == 422
    assert "The first day comes after the last one." in response.content.decode()
    assert "table" not in response.context


@pytest.mark.django_db
def test_payments_started_outside_the_dates_are_not_listed(client, book, finance_user):
    client.force_login(finance_user)
    long_ago = timezone.localdate() - timedelta(days=60)

    response = client.get(
        URL, {"date_from": long_ago.isoformat(), "date_to": (long_ago + timedelta(days=5)).isoformat()}
    )

    assert 'data-testid="empty-state"' in response.content.decode()


@pytest.mark.django_db
def test_a_gateway_payment_no_online_payment_produced_is_listed(client, wompi, customer, finance_user):
    payment_receive(customer=customer, amount="5000", currency="COP", method="PSE", reference="PSE-LOST-1", actor=None)
    client.force_login(finance_user)

    response = client.get(URL)

    assert "PSE-LOST-1" in response.content.decode()
    assert 'data-testid="unmatched-payments"' in response.content.decode()


def failed_event(number, *, verified, minutes_ago):
    received_at = timezone.now() - timedelta(minutes=minutes_ago)
    return WebhookEvent.objects.create(
        provider=WebhookEvent.Provider.WOMPI,
        event_id=f"{'' if verified else 'unverified:'}{number:064d}",
        event_type="transaction.updated",
        payload="{}",
        reference=f"EVT-{number:03d}",
        status=WebhookEvent.Status.FAILED,
        error="Verified, but could not be applied." if verified else "The checksum does not match the event.",
        verified=verified,
        received_at=received_at,
        processed_at=received_at,
    )


@pytest.mark.django_db
def test_events_that_could_not_be_applied_list_the_verified_ones_first(client, finance_user):
    failed_event(1, verified=False, minutes_ago=1)
    failed_event(2, verified=True, minutes_ago=30)
    failed_event(3, verified=False, minutes_ago=5)
    client.force_login(finance_user)

    page = client.get(URL).content.decode()

    assert 'data-testid="failed-events"' in page
    positions = [page.index(f"EVT-{number:03d}") for number in (2, 1, 3)]
    assert positions == sorted(positions)


@pytest.mark.django_db
def test_events_that_could_not_be_applied_are_paged_apart_from_the_payments(client, finance_user):
    for number in range(30):
        failed_event(number, verified=False, minutes_ago=number + 1)
    client.force_login(finance_user)

    first = client.get(URL).content.decode()
    second = client.get(URL, {"events-page": 2}).content.decode()

    assert first.count('data-verified="no"') == 25
    assert "events-page=2" in first
    assert second.count('data-verified="no"') == 5
    assert "EVT-029" in second
    assert "EVT-029" not in first


@pytest.mark.django_db
def test_the_csv_export_lists_every_row_with_its_reconciliation(client, book, finance_user):
    client.force_login(finance_user)

    response = client.get(EXPORT_URL, {"issue": "any"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert lines[0][0] == "Reference"
    by_reference = {line[0]: line for line in lines[1:]}
    assert set(by_reference) == {book["unrecorded"].reference, book["differing"].reference, book["stale"].reference}
    differing = by_reference[book["differing"].reference]
    assert differing[7:10] == ["30000.00", "COP", "29000.00"]
    assert differing[-1] == str(Issue.LABELS[Issue.AMOUNT_DIFFERS])


@pytest.mark.django_db
def test_a_customer_name_that_looks_like_a_formula_is_exported_as_text(client, wompi, agent, finance_user):
    nequi_payment_started(CustomerFactory(agent=agent, full_name="=HYPERLINK(1)"), agent)
    client.force_login(finance_user)

    response = client.get(EXPORT_URL)

    assert "'=HYPERLINK(1)" in b"".join(response.streaming_content).decode("utf-8-sig")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.ADMIN])
def test_finance_interventoria_and_administrators_reconcile(client, role):
    client.force_login(UserFactory(role=role))

    assert client.get(URL).status_code == 200
    assert client.get(EXPORT_URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_are_told_reconciliation_is_not_theirs(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(URL)

    assert response.status_code == 403
    assert "Reconciliation is open to finance" in response.content.decode()
    assert client.get(EXPORT_URL).status_code == 403


@pytest.mark.django_db
def test_reconciliation_is_in_finances_navigation(client, finance_user):
    client.force_login(finance_user)

    response = client.get(reverse("dashboard:dashboard"))

    assert 'data-nav="gateways:reconciliation"' in response.content.decode()
