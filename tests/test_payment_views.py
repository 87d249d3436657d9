"""The payments pages: who sees which accounts (own book, the team's, everyone's for finance and
Interventoría, read-only for Interventoría), recording a payment (HTMX and full page, with clear
errors), the statement and its PDF, the payments list and its exports, the finance dashboard's
collections and the customer page's balance card."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from email.message import Message

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.accounts.models import Role
from portal.payments.models import LedgerAccount, Payment
from portal.payments.services import payment_receive
from portal.payments.views import RECORD_REASON, VIEW_REASON

from .factories import CustomerFactory, ProductFactory, TeamFactory, UserFactory, issue_policy
from .helpers import HTMX, signed_in

PREMIUM = Decimal("4569600.00")


@pytest.fixture
def policy(customer):
    return issue_policy(customer=customer, product=ProductFactory(code="AUTO"), actor=customer.agent)


@pytest.fixture
def account(policy):
    return LedgerAccount.objects.get(customer=policy.customer)


def record_url(account):
    return reverse("payments:payment_record", args=[account.pk])


def form_data(**changes):
    return {
        "method": "BANK_TRANSFER",
        "amount": "1500000.00",
        "reference": "TRF-2026-001",
        "received_on": timezone.localdate().isoformat(),
        **changes,
    }


# --- scope --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "supervisor", "finance", "auditor", "admin"])
def test_the_agent_the_team_supervisor_finance_interventoria_and_admin_open_the_account(
    client, account, agent, supervisor, finance_user, auditor, admin_user, who
):
    user = {"agent": agent, "supervisor": supervisor, "finance": finance_user, "auditor": auditor, "admin": admin_user}
    page = signed_in(client, user[who]).get(reverse("payments:account_detail", args=[account.pk]))

    assert page.status_code == 200
    assert "Lucía Restrepo" in page.content.decode()


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_an_agent_or_supervisor_of_another_team_cannot_open_the_account(client, account, role):
    outsider = UserFactory(role=role, team=TeamFactory()) if role == Role.AGENT else TeamFactory().supervisor

    for url in (
        reverse("payments:account_detail", args=[account.pk]),
        reverse("payments:statement", args=[account.pk]),
        reverse("payments:statement_pdf", args=[account.pk]),
        record_url(account),
    ):
        assert signed_in(client, outsider).get(url).status_code == 404


def test_the_lists_show_only_the_users_book(client, account, finance_user):
    other = CustomerFactory(full_name="Otro Cliente")
    payment_receive(customer=other, amount="1000", currency="COP", method="CASH", reference="X1", actor=finance_user)
    payment_receive(
        customer=account.customer, amount="2000", currency="COP", method="CASH", reference="X2", actor=finance_user
    )

    agent_page = signed_in(client, account.customer.agent).get(reverse("payments:payment_list")).content.decode()
    assert "Lucía Restrepo" in agent_page and "Otro Cliente" not in agent_page
    finance_page = signed_in(client, finance_user).get(reverse("payments:payment_list")).content.decode()
    assert "Lucía Restrepo" in finance_page and "Otro Cliente" in finance_page
    accounts = signed_in(client, account.customer.agent).get(reverse("payments:account_list")).content.decode()
    assert "Lucía Restrepo" in accounts and "Otro Cliente" not in accounts


def test_a_client_account_is_refused_the_portal(client, account, client_user):
    answer = signed_in(client, client_user).get(reverse("payments:payment_list"))

    assert answer.status_code == 403
    assert "mobile app" in answer.content.decode()


# --- recording a payment ----------------------------------------------------------------------------------------


def test_the_record_form_opens_in_the_page_with_htmx_and_as_a_page_without(client, account, agent):
    signed_in(client, agent)

    partial = client.get(record_url(account), headers=HTMX)
    full = client.get(record_url(account))

    assert 'data-testid="record-payment-form"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert 'data-testid="record-payment-form"' in full.content.decode()
    assert "<html" in full.content.decode()


def test_recording_a_payment_with_htmx_answers_the_refreshed_account(client, account, agent, policy):
    answer = signed_in(client, agent).post(record_url(account), form_data(amount="4569600"), headers=HTMX)

    assert answer.status_code == 200
    assert answer["HX-Retarget"] == "#account-panel"
    body = answer.content.decode()
    assert 'data-testid="account-panel"' in body
    assert "Payment of COP 4,569,600.00 recorded" in body
    payment = Payment.objects.get()
    assert (payment.recorded_by, payment.method, payment.amount) == (agent, "BANK_TRANSFER", PREMIUM)
    assert payment.allocations.get().instalment.status == "PAID"


def test_recording_a_payment_without_htmx_redirects_to_the_account(client, account, finance_user):
    answer = signed_in(client, finance_user).post(record_url(account), form_data())

    assert answer.status_code == 302
    assert answer["Location"] == reverse("payments:account_detail", args=[account.pk])
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "0"}, "greater than or equal to 0.01"),
        ({"amount": "abc"}, "Enter a number"),
        ({"amount": "10.001"}, "no more than 2 decimal places"),
        ({"reference": ""}, "This field is required"),
        ({"method": "CARD"}, "Select a valid choice"),
        ({"received_on": (timezone.localdate() + timedelta(days=2)).isoformat()}, "cannot be dated in the future"),
    ],
)
def test_bad_input_in_the_record_form_says_what_is_wrong_and_records_nothing(client, account, agent, changes, message):
    answer = signed_in(client, agent).post(record_url(account), form_data(**changes), headers=HTMX)

    assert answer.status_code == 422
    assert message in answer.content.decode()
    assert not Payment.objects.exists()


def test_a_reference_recorded_before_is_refused_with_when_it_was_recorded(client, account, agent):
    signed_in(client, agent).post(record_url(account), form_data(), headers=HTMX)

    answer = client.post(record_url(account), form_data(amount="99"), headers=HTMX)

    assert answer.status_code == 422
    assert "Reference TRF-2026-001 was already recorded on" in answer.content.decode()
    assert Payment.objects.count() == 1


def test_interventoria_sees_no_record_button_and_cannot_record(client, account, auditor):
    page = signed_in(client, auditor).get(reverse("payments:account_detail", args=[account.pk])).content.decode()
    assert 'data-testid="open-record-payment"' not in page

    answer = client.post(record_url(account), form_data())
    assert answer.status_code == 403
    assert str(RECORD_REASON) in answer.content.decode()
    assert not Payment.objects.exists()


# --- statement --------------------------------------------------------------------------------------------------


def test_the_statement_page_shows_the_period_with_its_opening_and_closing_balances(client, account, finance_user):
    payment_receive(
        customer=account.customer, amount="1000000", currency="COP", method="CASH", reference="S1", actor=finance_user
    )
    today = timezone.localdate()
    url = reverse("payments:statement", args=[account.pk])

    page = signed_in(client, finance_user).get(url, {"start": today.isoformat(), "end": today.isoformat()})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="opening-balance">COP 0.00' in body
    assert 'data-testid="closing-balance">COP 3,569,600.00' in body

    later = client.get(
        url,
        {"start": (today + timedelta(days=1)).isoformat(), "end": (today + timedelta(days=9)).isoformat()},
        headers=HTMX,
    )
    body = later.content.decode()
    assert "<html" not in body
    assert 'data-testid="opening-balance">COP 3,569,600.00' in body
    assert 'data-testid="no-movements"' in body


def test_a_statement_period_that_ends_before_it_starts_says_so(client, account, finance_user):
    today = timezone.localdate()
    answer = signed_in(client, finance_user).get(
        reverse("payments:statement", args=[account.pk]),
        {"start": today.isoformat(), "end": (today - timedelta(days=5)).isoformat()},
        headers=HTMX,
    )

    assert answer.status_code == 422
    assert "The period starts after it ends" in answer.content.decode()


def test_the_statement_pdf_downloads_in_spanish_with_the_balances(client, account, finance_user):
    today = timezone.localdate()
    answer = signed_in(client, finance_user).get(
        reverse("payments:statement_pdf", args=[account.pk]), {"start": today.isoformat(), "end": today.isoformat()}
    )

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert f"statement-52123456-COP-{today.isoformat()}" in answer["Content-Disposition"]
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert "Estado de cuenta" in text or "Account statement" in text
    assert "4.569.600,00" in text


def test_a_typed_id_number_cannot_rename_the_statement_download(client, agent, finance_user):
    crafted = "1\";filename*=UTF-8''a.html;x=\""
    customer = CustomerFactory(agent=agent, id_number=crafted)
    issue_policy(customer=customer, product=ProductFactory(code="HOGAR"), actor=agent)
    account = LedgerAccount.objects.get(customer=customer)
    today = timezone.localdate()

    answer = signed_in(client, finance_user).get(
        reverse("payments:statement_pdf", args=[account.pk]), {"start": today.isoformat(), "end": today.isoformat()}
    )

    header = Message()
    header["Content-Disposition"] = answer["Content-Disposition"]
    assert header.get_content_disposition() == "attachment"
    assert [name for name, _ in header.get_params(header="Content-Disposition")[1:]] == ["filename"]
    assert header.get_filename() == f"statement-{crafted}-COP-{today.isoformat()}-{today.isoformat()}.pdf"


def test_a_bad_pdf_period_goes_back_to_the_statement_with_the_reason(client, account, finance_user):
    today = timezone.localdate()
    answer = signed_in(client, finance_user).get(
        reverse("payments:statement_pdf", args=[account.pk]),
        {"start": today.isoformat(), "end": (today - timedelta(days=1)).isoformat()},
    )

    assert answer.status_code == 302
    assert answer["Location"] == reverse("payments:statement", args=[account.pk])


# --- payments list, detail, exports --------------------------------------------------------------------------------


@pytest.fixture
def payments(account, finance_user):
    return [
        payment_receive(
            customer=account.customer,
            amount=amount,
            currency="COP",
            method=method,
            reference=reference,
            actor=finance_user if method in Payment.MANUAL_METHODS else None,
        )
        for amount, method, reference in [("100000", "CASH", "=HYPERLINK(1)"), ("250000", "PSE", "WOMPI-9")]
    ]


def test_the_payments_list_filters_by_method_and_answers_htmx_with_its_results(client, payments, finance_user):
    answer = signed_in(client, finance_user).get(reverse("payments:payment_list"), {"method": "PSE"}, headers=HTMX)

    body = answer.content.decode()
    assert "WOMPI-9" in body and "HYPERLINK" not in body
    assert "Gateway" in body
    assert "<html" not in body


def test_the_csv_export_is_filtered_and_safe_for_spreadsheets(client, payments, finance_user):
    answer = signed_in(client, finance_user).get(reverse("payments:payment_export", args=["csv"]))

    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Date", "Customer", "ID type"]
    references = {row[6] for row in rows[1:]}
    assert references == {"'=HYPERLINK(1)", "WOMPI-9"}
    assert {row[5] for row in rows[1:]} == {"Cash", "PSE bank transfer"}


def test_the_xlsx_export_holds_the_filtered_payments(client, payments, finance_user):
    answer = signed_in(client, finance_user).get(reverse("payments:payment_export", args=["xlsx"]), {"method": "CASH"})

    sheet = load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][7] == 100000


def test_an_unknown_export_format_is_not_found(client, finance_user):
    assert signed_in(client, finance_user).get(reverse("payments:payment_export", args=["pdf"])).status_code == 404


def test_the_payment_page_shows_where_the_money_went_and_its_receipt_pdf(client, payments, finance_user):
    payment = payments[0]
    page = signed_in(client, finance_user).get(reverse("payments:payment_detail", args=[payment.pk])).content.decode()

    assert payment.receipt.number in page
    assert 'data-testid="reverse-form"' in page
    pdf = client.get(reverse("payments:receipt_pdf", args=[payment.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert payment.receipt.number in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_finance_reverses_a_payment_from_its_page_and_an_agent_cannot(client, payments, finance_user, agent):
    payment = payments[0]
    url = reverse("payments:payment_reverse", args=[payment.pk])

    assert signed_in(client, agent).post(url, {"reason": "Mistake"}).status_code == 403
    empty = signed_in(client, finance_user).post(url, {"reason": ""}, headers=HTMX)
    assert empty.status_code == 422
    assert "Say why the payment is reversed" in empty.content.decode()

    done = client.post(url, {"reason": "Entered twice"}, headers=HTMX)
    assert done.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED


# --- dashboard and customer page -------------------------------------------------------------------------------------


def test_the_finance_dashboard_shows_collections_by_day_with_a_chart(client, payments, finance_user):
    page = signed_in(client, finance_user).get(reverse("dashboard:dashboard")).content.decode()

    assert 'data-testid="collections-card"' in page
    assert 'data-testid="collections-COP"' in page
    assert "COP 350,000.00" in page
    assert 'id="collections-data"' in page


def test_the_finance_dashboard_without_payments_says_where_they_will_show(client, finance_user):
    page = signed_in(client, finance_user).get(reverse("dashboard:dashboard")).content.decode()

    assert 'data-testid="collections-empty"' in page


def test_the_customer_page_shows_the_balance_and_links_to_the_account(client, account, agent):
    page = signed_in(client, agent).get(reverse("customers:customer_detail", args=[account.customer.pk]))

    body = page.content.decode()
    assert 'data-testid="customer-accounts"' in body
    assert "COP 4,569,600.00 due" in body
    assert reverse("payments:account_detail", args=[account.pk]) in body


def test_the_navigation_has_payments_for_staff_who_may_see_them(client, agent):
    page = signed_in(client, agent).get(reverse("dashboard:dashboard")).content.decode()

    assert 'data-nav="payments:payment_list"' in page


def test_the_view_refusal_says_who_may_open_payments(client, db):
    from django.contrib.auth.models import Group

    user = UserFactory(role=Role.AGENT)
    user.groups.set([Group.objects.create(name="nobody")])
    answer = signed_in(client, user).get(reverse("payments:payment_list"))

    assert answer.status_code == 403
    assert str(VIEW_REASON) in answer.content.decode()
