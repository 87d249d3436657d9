"""/api/v1/loans/ for the app's customer and /api/v1/staff/loans/ for staff: quotes that agree with the
schedule, applying without mass assignment, object scope (404), the current step in customer words,
withdrawing, starting and completing tasks with 409 when the loan moved on, and a list whose query
count does not grow with its rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import Role
from portal.loans.models import Loan, LoanTask, TaskKind

from ..factories import CustomerFactory, UserFactory, apply_loan, issue_policy, make_loan_product

pytestmark = pytest.mark.django_db

LOANS = "/api/v1/loans/"


@pytest.fixture
def customer(customer_account):
    return customer_account.customer


@pytest.fixture
def policy(customer):
    return issue_policy(customer=customer)


@pytest.fixture
def product():
    return make_loan_product()


def test_a_quote_gives_the_instalment_and_a_schedule_whose_principal_sums_to_the_amount(customer_client, product):
    response = customer_client.post(
        f"{LOANS}quote/", {"product": product.pk, "amount": "1000000", "tenure_months": 12}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instalment"] == "91679.99"
    assert len(body["schedule"]) == 12
    assert sum(Decimal(row["principal"]) for row in body["schedule"]) == Decimal("1000000")
    assert not Loan.objects.exists()


def test_a_quote_outside_the_products_bounds_is_400_naming_the_field(customer_client, product):
    response = customer_client.post(
        f"{LOANS}quote/", {"product": product.pk, "amount": "10", "tenure_months": 12}, format="json"
    )
    assert response.status_code == 400 and "amount" in response.json()["errors"]


def test_the_customer_applies_and_status_rate_and_dates_sent_along_are_ignored(customer_client, policy, product):
    response = customer_client.post(
        LOANS,
        {
            "product": product.pk,
            "policy": policy.pk,
            "amount": "2000000",
            "tenure_months": 6,
            "status": "COMPLETED",
            "annual_rate_pct": "0",
            "current_task": 1,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["annual_rate_pct"]) == ("NEW", "18.0000")
    assert response["Location"].endswith(f"{LOANS}{body['id']}/")


def test_applying_against_someone_elses_policy_is_400(customer_client, product):
    data = {"product": product.pk, "policy": issue_policy().pk, "amount": "2000000", "tenure_months": 6}
    response = customer_client.post(LOANS, data, format="json")
    assert response.status_code == 400 and "policy" in response.json()["errors"]


def test_a_customer_sees_their_own_loans_and_someone_elses_is_404(customer_client, policy):
    mine = apply_loan(policy=policy)
    theirs = apply_loan()
    listed = customer_client.get(LOANS).json()
    assert [row["number"] for row in listed["results"]] == [mine.number]
    assert customer_client.get(f"{LOANS}{theirs.pk}/").status_code == 404
    assert customer_client.post(f"{LOANS}{theirs.pk}/withdraw/").status_code == 404


def test_the_loan_says_its_current_step_in_customer_words_and_shows_its_schedule(customer_client, policy):
    loan = apply_loan(policy=policy)
    LoanTask.objects.create(loan=loan, kind=TaskKind.KYC)
    Loan.objects.filter(pk=loan.pk).update(status="IN_PROGRESS", current_task=LoanTask.objects.get(loan=loan))
    body = customer_client.get(f"{LOANS}{loan.pk}/").json()
    assert body["current_step"] == "We are checking your identity and income documents."
    schedule = customer_client.get(f"{LOANS}{loan.pk}/schedule/").json()
    assert len(schedule) == 12 and schedule[0]["due_date"] is None


def test_the_customer_withdraws_and_a_second_withdrawal_is_409(customer_client, policy):
    loan = apply_loan(policy=policy)
    response = customer_client.post(f"{LOANS}{loan.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["status"] == "WITHDRAWN"
    response = customer_client.post(f"{LOANS}{loan.pk}/withdraw/")
    assert response.status_code == 409 and "detail" in response.json()


def test_staff_are_not_customers_here(client_for, policy):
    assert client_for(policy.customer.agent).get(LOANS).status_code == 403


def test_the_loan_list_makes_the_same_queries_for_2_and_8_loans(customer_client, policy):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert customer_client.get(LOANS).status_code == 200
        return len(captured)

    for _ in range(2):
        apply_loan(policy=policy)
    two = queries()
    for _ in range(6):
        apply_loan(policy=policy)
    assert queries() == two


def staff_url(loan, *rest):
    return "/".join([f"/api/v1/staff/loans/{loan.pk}/tasks", *[str(part) for part in rest], ""])


def test_staff_start_the_next_task_and_a_second_start_is_409(client_for):
    loan = apply_loan()
    agent = client_for(loan.customer.agent)
    response = agent.post(staff_url(loan))
    assert response.status_code == 201 and response.json()["current_task"]["kind"] == "KYC"
    response = agent.post(staff_url(loan))
    assert response.status_code == 409
    assert client_for(UserFactory(role=Role.AGENT)).post(staff_url(loan)).status_code == 404


def test_staff_complete_the_current_task_with_an_outcome_and_a_finished_one_is_409(client_for):
    loan = apply_loan()
    agent = client_for(loan.customer.agent)
    task_id = agent.post(staff_url(loan)).json()["current_task"]["id"]
    response = agent.post(staff_url(loan, task_id, "complete"), {"outcome": "REFUSED"}, format="json")
    assert response.status_code == 400 and "note" in response.json()["errors"]
    response = agent.post(
        staff_url(loan, task_id, "complete"), {"outcome": "REFUSED", "note": "Cédula vencida"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "REJECTED"
    response = agent.post(staff_url(loan, task_id, "complete"), {"outcome": "PASSED"}, format="json")
    assert response.status_code == 409


def test_a_role_that_may_not_complete_the_task_gets_403_saying_why(client_for):
    loan = apply_loan()
    task_id = client_for(loan.customer.agent).post(staff_url(loan)).json()["current_task"]["id"]
    finance = client_for(UserFactory(role=Role.FINANCE))
    response = finance.post(staff_url(loan, task_id, "complete"), {"outcome": "PASSED"}, format="json")
    assert response.status_code == 403 and "Your role" in response.json()["detail"]


def test_the_customer_cannot_use_the_staff_endpoints(client_for, customer_account):
    loan = apply_loan(policy=issue_policy(customer=CustomerFactory()))
    assert client_for(customer_account).post(staff_url(loan)).status_code == 403
