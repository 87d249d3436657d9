"""The customer's account in the app: balances per currency and the next instalments, the statement with
its running balance in pages (constant queries), and the portal's statement PDF. Own data only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.payments.models import Instalment, LedgerAccount
from portal.payments.services import payment_record

ACCOUNT = "/api/v1/account/"
STATEMENT = "/api/v1/account/statement/"

pytestmark = pytest.mark.django_db


def pay(customer, amount, reference):
    account = LedgerAccount.objects.get(customer=customer)
    return payment_record(
        account=account, amount=amount, method="BANK_TRANSFER", reference=reference, actor=customer.agent
    )


def test_the_account_shows_the_balance_per_currency_and_the_next_instalments(as_customer, policyholder):
    instalment = Instalment.objects.get(account__customer=policyholder)
    pay(policyholder, "100000", "TRF-1")

    body = as_customer(policyholder.user).get(ACCOUNT).json()

    [balance] = body["balances"]
    assert balance["currency"] == "COP"
    assert float(balance["due_now"]) == float(instalment.amount) - 100000
    [due] = body["next_instalments"]
    assert (due["policy_number"], due["sequence"], due["overdue"]) == (instalment.policy.number, 1, False)
    assert float(due["outstanding"]) == float(instalment.amount) - 100000


def test_the_account_shows_nothing_of_another_customer(as_customer, policyholder, other_policyholder):
    pay(other_policyholder, "5000", "TRF-OTHER")

    body = as_customer(policyholder.user).get(ACCOUNT).json()

    policies = {row["policy_number"] for row in body["next_instalments"]}
    assert policies == {policyholder.policies.get().number}
    assert float(body["balances"][0]["due_now"]) == float(Instalment.objects.get(account__customer=policyholder).amount)


def test_the_statement_lists_entries_with_the_running_balance(as_customer, policyholder):
    premium = Instalment.objects.get(account__customer=policyholder).amount
    pay(policyholder, "100000", "TRF-1")
    pay(policyholder, "50000", "TRF-2")

    body = as_customer(policyholder.user).get(STATEMENT).json()

    assert body["currency"] == "COP" and float(body["opening"]) == 0
    balances = [float(line["balance"]) for line in body["results"]]
    assert balances == [float(premium), float(premium) - 100000, float(premium) - 150000]
    assert [line["kind"] for line in body["results"]] == ["PREMIUM_DUE", "PAYMENT_RECEIVED", "PAYMENT_RECEIVED"]
    assert "TRF-2" in body["results"][-1]["description"]
    assert float(body["closing"]) == balances[-1]


def test_the_statement_pages_and_reads_a_constant_number_of_queries(as_customer, policyholder):
    caller = as_customer(policyholder.user)
    pay(policyholder, "1000", "TRF-0")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(STATEMENT).status_code == 200
        return len(captured)

    few = queries()
    for n in range(1, 6):
        pay(policyholder, "1000", f"TRF-{n}")

    assert queries() == few
    first = caller.get(STATEMENT, {"page_size": 4}).json()
    second = caller.get(STATEMENT, {"page_size": 4, "page": 2}).json()
    assert len(first["results"]) == 4 and first["next"]
    assert len(second["results"]) == 3 and second["next"] is None
    assert second["results"][-1]["balance"] == second["closing"]
    assert float(second["results"][0]["balance"]) == float(first["results"][-1]["balance"]) - 1000


def test_a_statement_page_reads_only_its_own_entries(as_customer, policyholder):
    caller = as_customer(policyholder.user)
    for n in range(8):
        pay(policyholder, "1000", f"TRF-{n}")

    with CaptureQueriesContext(connection) as captured:
        body = caller.get(STATEMENT, {"page_size": 3, "page": 2}).json()

    entry_reads = [q["sql"] for q in captured if "OVER" in q["sql"]]
    assert len(entry_reads) == 1 and "LIMIT 3" in entry_reads[0] and "OFFSET 3" in entry_reads[0]
    assert body["count"] == 9 and len(body["results"]) == 3


def test_the_statement_period_is_checked(as_customer, policyholder):
    caller = as_customer(policyholder.user)
    today = timezone.localdate()

    swapped = caller.get(STATEMENT, {"from": today.isoformat(), "to": (today - timedelta(days=3)).isoformat()})
    not_a_date = caller.get(STATEMENT, {"from": "ayer", "to": today.isoformat()})
    only_one = caller.get(STATEMENT, {"from": today.isoformat()})

    assert swapped.status_code == 400 and "swap the dates" in swapped.json()["detail"]
    assert not_a_date.status_code == 400 and "from" in not_a_date.json()["errors"]
    assert only_one.status_code == 400 and "to" in only_one.json()["errors"]


def test_a_currency_without_an_account_is_not_found(as_customer, policyholder):
    response = as_customer(policyholder.user).get(STATEMENT, {"currency": "USD"})

    assert response.status_code == 404


def test_the_statement_comes_as_the_portals_pdf(as_customer, policyholder):
    response = as_customer(policyholder.user).get(STATEMENT, {"format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert policyholder.id_number in response["Content-Disposition"]


def test_staff_and_anonymous_callers_are_refused(as_customer, app_client, agent):
    for path in (ACCOUNT, STATEMENT):
        assert as_customer(agent).get(path).status_code == 403
        assert app_client.get(path).status_code == 401


def test_the_schema_documents_the_statement_as_json_and_pdf(app_client):
    paths = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    statement = paths["/api/v1/account/statement/"]["get"]
    assert {"application/json", "application/pdf"} <= set(statement["responses"]["200"]["content"])
    assert {"400", "401", "403", "404"} <= set(statement["responses"])
    assert {"from", "to", "format"} <= {parameter["name"] for parameter in statement["parameters"]}


def test_a_refused_pdf_statement_answers_json_with_the_detail(as_customer, policyholder):
    response = as_customer(policyholder.user).get(STATEMENT, {"format": "pdf", "from": "ayer", "to": "hoy"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "from" in response.json()["errors"]
