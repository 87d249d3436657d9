"""The loans pages: the queue (role defaults, scope, exports, no exact COUNT, queries constant in the rows
shown), the loan page with its terms, timeline, schedule and the moves offered, the moves as HTMX swaps
(409 and the fresh panel when stale, 403 saying why), applying for a customer and the customer's page."""

import csv
import io
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from portal.accounts.models import Role
from portal.loans import services
from portal.loans.models import Loan, TaskKind
from portal.loans.repayments import loan_repayment_record

from .bureau_server import running_bureau
from .factories import CustomerFactory, UserFactory, apply_loan, issue_policy, make_loan_product
from .helpers import approved, checked, fresh, kyc_done, pdf

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def signed_in(client, user):
    client.force_login(user)
    return client


def act(client, loan, action, *, htmx=True, **data):
    data.setdefault("task", fresh(loan).current_task_id or "")
    return client.post(reverse("loans:loan_action", args=[loan.pk, action]), data, headers=HTMX if htmx else {})


@pytest.mark.parametrize(
    ("role", "task"),
    [
        (Role.AGENT, "KYC"),
        (Role.SUPERVISOR, "AWAITING_OVERRIDE"),
        (Role.ADMIN, "APPROVAL"),
        (Role.FINANCE, "DISBURSEMENT"),
        (Role.INTERVENTORIA, None),
    ],
)
def test_each_role_opens_the_queue_on_what_waits_for_it(client, role, task):
    response = signed_in(client, UserFactory(role=role)).get(reverse("loans:loan_list"))
    assert response.status_code == 302
    if task:
        assert f"task={task}" in response.url and "status=OPEN" in response.url
    else:
        assert "task=" not in response.url


def test_the_supervisors_queue_holds_the_refused_credit_checks_not_yet_overridden(client, agent, supervisor, settings):
    def loan_of_the_team():
        return apply_loan(policy=issue_policy(customer=CustomerFactory(agent=agent)))

    at_kyc = loan_of_the_team()
    waiting_for_bureau = loan_of_the_team()
    kyc_done(waiting_for_bureau, agent)
    refused = loan_of_the_team()
    kyc_done(refused, agent)
    checked(refused, settings, score=510)
    overridden = loan_of_the_team()
    kyc_done(overridden, agent)
    checked(overridden, settings, score=520)
    services.loan_act(loan=overridden, action="credit_override", actor=supervisor, note="Ingresos verificados")
    passed = loan_of_the_team()
    kyc_done(passed, agent)
    checked(passed, settings, score=720)
    signed_in(client, supervisor)

    default = client.get(reverse("loans:loan_list"), follow=True)

    body = default.content.decode()
    assert refused.number in body
    for other in (at_kyc, waiting_for_bureau, overridden, passed):
        assert other.number not in body
    assert (
        'data-testid="action-credit_override"'
        in client.get(reverse("loans:loan_detail", args=[refused.pk])).content.decode()
    )


def test_the_supervisors_queue_also_holds_the_credit_checks_the_bureau_refused_to_answer(
    client, agent, supervisor, settings
):
    loan = apply_loan(policy=issue_policy(customer=CustomerFactory(agent=agent)))
    kyc_done(loan, agent)
    with running_bureau(settings) as bureau:
        bureau.answer_with(422)
        services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
    assert fresh(loan).current_task.score is None and fresh(loan).current_task.check_error

    body = signed_in(client, supervisor).get(reverse("loans:loan_list"), follow=True).content.decode()

    assert loan.number in body


def test_an_agent_sees_the_loans_of_their_own_book_only(client):
    mine = apply_loan()
    theirs = apply_loan()
    response = signed_in(client, mine.customer.agent).get(reverse("loans:loan_list"), {"sort": "-applied_at"})
    body = response.content.decode()
    assert mine.number in body and theirs.number not in body
    assert signed_in(client, mine.customer.agent).get(reverse("loans:loan_detail", args=[theirs.pk])).status_code == 404


def queue_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("loans:loan_list"), {"sort": "-applied_at"})
    assert response.status_code == 200
    return queries


def test_the_queue_makes_the_same_queries_for_3_and_12_loans_and_never_counts_them_all(client):
    admin = UserFactory(role=Role.ADMIN)
    signed_in(client, admin)
    product = make_loan_product()
    for _ in range(3):
        apply_loan(product=product)
    with_three = queue_queries(client)
    for _ in range(9):
        apply_loan(product=product)
    with_twelve = queue_queries(client)
    assert len(with_twelve) == len(with_three)
    assert not [q for q in with_twelve if "COUNT(" in q["sql"].upper() and "loans_loan" in q["sql"]]


def test_the_csv_export_holds_the_filtered_loans(client):
    loan = apply_loan()
    other = apply_loan()
    response = signed_in(client, UserFactory(role=Role.ADMIN)).get(
        reverse("loans:loan_export", args=["csv"]), {"number": loan.number}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [loan.number]
    assert other.number not in str(rows)


def test_the_loan_page_shows_the_terms_and_only_the_moves_the_service_would_accept(client):
    loan = apply_loan()
    body = signed_in(client, loan.customer.agent).get(reverse("loans:loan_detail", args=[loan.pk])).content.decode()
    assert ('data-testid="loan-terms"' in body and "458.399,96" in body) or "458,399.96" in body
    assert 'data-testid="action-start"' in body and 'data-testid="action-approve"' not in body
    body = (
        signed_in(client, UserFactory(role=Role.INTERVENTORIA))
        .get(reverse("loans:loan_detail", args=[loan.pk]))
        .content.decode()
    )
    assert 'data-testid="no-actions"' in body


def test_a_move_is_an_htmx_swap_of_the_panel_and_a_stale_one_answers_409_with_the_fresh_panel(client):
    loan = apply_loan()
    signed_in(client, loan.customer.agent)
    response = act(client, loan, "start")
    assert response.status_code == 200 and response["HX-Retarget"] == "#loan-panel"
    assert 'data-kind="KYC"' in response.content.decode()
    response = act(client, loan, "start", task="")
    assert response.status_code == 409
    assert "already has an open task" in response.content.decode()
    assert Loan.objects.get(pk=loan.pk).current_task.kind == TaskKind.KYC


def test_a_refused_role_answers_403_saying_why_and_a_missing_note_422(client):
    loan = apply_loan()
    services.loan_task_start(loan=loan, actor=loan.customer.agent)
    response = act(signed_in(client, UserFactory(role=Role.ADMIN)), loan, "approve")
    assert response.status_code == 409
    response = act(signed_in(client, UserFactory(role=Role.FINANCE)), loan, "kyc_pass")
    assert response.status_code == 403
    response = act(signed_in(client, loan.customer.agent), loan, "kyc_refuse", note="")
    assert response.status_code == 422 and 'data-testid="action-error"' in response.content.decode()
    assert fresh(loan).status == Loan.Status.IN_PROGRESS


def test_documents_are_attached_from_the_loan_page_and_downloaded_again(client):
    loan = apply_loan()
    signed_in(client, loan.customer.agent)
    response = client.post(reverse("loans:document_upload", args=[loan.pk]), {"file": pdf()}, headers=HTMX)
    assert response.status_code == 200 and "cedula.pdf" in response.content.decode()
    document = loan.documents.get()
    download = client.get(reverse("loans:document_download", args=[loan.pk, document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_disbursed_loans_page_shows_its_schedule(client, settings):
    loan = approved(apply_loan(), settings)
    maker = UserFactory(role=Role.FINANCE)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=maker, payee_account="Banco 1")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    body = signed_in(client, loan.customer.agent).get(reverse("loans:loan_detail", args=[loan.pk])).content.decode()
    assert body.count('data-testid="schedule-row"') == 12
    assert 'data-testid="loan-outstanding"' in body


def test_an_agent_applies_for_a_customer_from_the_portal(client):
    policy = issue_policy()
    product = make_loan_product()
    signed_in(client, policy.customer.agent)
    url = reverse("loans:loan_apply", args=[policy.customer.pk])
    response = client.post(url, {"product": product.pk, "policy": policy.pk, "amount": "99", "tenure_months": 12})
    assert response.status_code == 422 and not Loan.objects.exists()
    response = client.post(url, {"product": product.pk, "policy": policy.pk, "amount": "3000000", "tenure_months": 12})
    loan = Loan.objects.get()
    assert response.status_code == 302 and response.url == reverse("loans:loan_detail", args=[loan.pk])


def test_the_customers_page_lists_their_loans(client):
    loan = apply_loan()
    other = apply_loan(customer=CustomerFactory())
    signed_in(client, UserFactory(role=Role.ADMIN))
    response = client.get(reverse("loans:customer_loans", args=[loan.customer.pk]), headers=HTMX)
    body = response.content.decode()
    assert loan.number in body and other.number not in body
    page = client.get(reverse("customers:customer_detail", args=[loan.customer.pk])).content.decode()
    assert reverse("loans:customer_loans", args=[loan.customer.pk]) in page


def test_the_dashboard_card_shows_the_pipeline_by_task_and_the_portfolio_per_currency(client, settings):
    waiting = apply_loan()
    services.loan_task_start(loan=waiting, actor=waiting.customer.agent)
    loan = approved(apply_loan(), settings)
    maker = UserFactory(role=Role.FINANCE)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=maker, payee_account="Banco 1")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    response = signed_in(client, UserFactory(role=Role.ADMIN)).get(reverse("dashboard:dashboard"))
    figures = response.context["loans"]
    assert {step["kind"]: step["count"] for step in figures["pipeline"]} == {
        "KYC": 1,
        "CREDIT_CHECK": 0,
        "APPROVAL": 0,
        "DISBURSEMENT": 0,
    }
    assert [(row["currency"], row["outstanding"], row["in_arrears"]) for row in figures["portfolio"]] == [
        ("COP", loan.principal, 0)
    ]
    assert 'data-testid="loans-card"' in response.content.decode()


def test_a_repayment_is_recorded_from_the_loan_page_and_bad_input_is_422(client, settings):
    loan = approved(apply_loan(), settings)
    maker = UserFactory(role=Role.FINANCE)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=maker, payee_account="Banco 1")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    signed_in(client, loan.customer.agent)
    url = reverse("loans:loan_repay", args=[loan.pk])
    response = client.post(url, {"amount": "x", "method": "CASH", "reference": "R-1"}, headers=HTMX)
    assert response.status_code == 422 and 'data-testid="repay-error"' in response.content.decode()
    response = client.post(url, {"amount": "100000", "method": "CASH", "reference": "R-1"}, headers=HTMX)
    assert response.status_code == 200 and 'data-testid="repayment"' in response.content.decode()
    auditor = signed_in(client, UserFactory(role=Role.INTERVENTORIA))
    body = auditor.get(reverse("loans:loan_detail", args=[loan.pk])).content.decode()
    assert 'data-testid="repay-submit"' not in body


def pdf_text(response):
    return "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)


def test_the_schedule_and_the_statement_are_pdfs_with_the_loans_figures(client, settings):
    loan = approved(apply_loan(), settings)
    maker = UserFactory(role=Role.FINANCE)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=maker, payee_account="Banco 1")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    loan_repayment_record(loan=loan, amount="100000", method="CASH", reference="R-77", actor=maker)
    signed_in(client, loan.customer.agent)
    schedule = client.get(reverse("loans:loan_pdf", args=[loan.pk, "schedule"]))
    assert schedule["Content-Type"] == "application/pdf"
    assert loan.number in pdf_text(schedule) and "458" in pdf_text(schedule)
    statement = client.get(reverse("loans:loan_pdf", args=[loan.pk, "statement"]))
    assert "R-77" in pdf_text(statement)
    assert client.get(reverse("loans:loan_pdf", args=[loan.pk, "other"])).status_code == 404
