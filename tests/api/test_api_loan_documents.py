"""The app uploads identity and income documents to its own loan application
(POST /api/v1/loans/{id}/documents/, multipart) through the same content-checked, virus-scanned private
storage as the portal, while the loan is before disbursement, and lists them (GET). Another customer's
loan is 404; a file too large is 413, a refused file 422, a missing one 400; nothing refused is kept."""

import io

import pytest

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.loans import services
from portal.loans.models import LoanDocument

from ..factories import CustomerFactory, UserFactory, apply_loan, issue_policy
from ..helpers import PDF, approved, stored_files

pytestmark = pytest.mark.django_db


def documents_url(loan):
    return f"/api/v1/loans/{loan.pk}/documents/"


def named(name, content):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


@pytest.fixture
def loan(customer_account):
    return apply_loan(policy=issue_policy(customer=customer_account.customer), amount="1000000", tenure_months=3)


def upload(client, loan, name="cedula.pdf", content=PDF):
    return client.post(documents_url(loan), {"file": named(name, content)}, format="multipart")


def test_the_customer_uploads_a_document_and_lists_it(customer_client, customer_account, loan, private_root):
    response = upload(customer_client, loan)

    assert response.status_code == 201, response.json()
    document = LoanDocument.objects.get()
    assert (document.loan, document.uploaded_by, document.content_type) == (loan, customer_account, "application/pdf")
    assert response.json()["original_name"] == "cedula.pdf" and "stored_name" not in response.json()
    assert len(stored_files(private_root)) == 1
    assert AuditEvent.objects.filter(action="loan.document_added", target_id=str(loan.pk)).exists()
    listed = customer_client.get(documents_url(loan))
    assert listed.status_code == 200
    assert [row["original_name"] for row in listed.json()["results"]] == ["cedula.pdf"]


def test_the_agent_sees_the_customers_upload_on_the_loan_page(client, customer_client, loan, private_root):
    upload(customer_client, loan, name="desprendible.pdf")
    client.force_login(loan.customer.agent)

    page = client.get(f"/loans/{loan.pk}/").content.decode()

    assert "desprendible.pdf" in page


def test_another_customers_loan_is_not_found_and_nothing_is_kept(customer_client, loan, private_root):
    theirs = apply_loan(policy=issue_policy(customer=CustomerFactory()), amount="1000000", tenure_months=3)

    assert upload(customer_client, theirs).status_code == 404
    assert customer_client.get(documents_url(theirs)).status_code == 404
    assert not LoanDocument.objects.exists() and stored_files(private_root) == []


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("cedula.pdf", b"MZ\x90\x00" + b"\x00" * 64, "program"),
        ("cedula.pdf", b"just some text, not a PDF", "not a photo"),
        ("cedula.pdf", b"", "empty"),
        ("cedula.jpg", PDF, "named like"),
    ],
)
def test_a_refused_file_is_422_saying_why_and_nothing_is_kept(
    customer_client, loan, private_root, name, content, words
):
    response = upload(customer_client, loan, name=name, content=content)

    assert response.status_code == 422, response.json()
    assert words in response.json()["detail"]
    assert not LoanDocument.objects.exists() and stored_files(private_root) == []


def test_a_file_larger_than_a_document_may_be_is_413(customer_client, loan, private_root, settings):
    settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES = len(PDF) - 1

    response = upload(customer_client, loan)

    assert response.status_code == 413
    assert "the most a document may be" in response.json()["detail"]
    assert not LoanDocument.objects.exists() and stored_files(private_root) == []


def test_an_upload_larger_than_the_body_limit_is_413(customer_client, loan, private_root, settings):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 100

    response = upload(customer_client, loan, content=PDF + b"%" * 500)

    assert response.status_code == 413
    assert not LoanDocument.objects.exists()


def test_a_file_that_cannot_be_scanned_for_viruses_is_refused(customer_client, loan, private_root, settings):
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:1"

    response = upload(customer_client, loan)

    assert response.status_code == 422
    assert "could not be checked for viruses" in response.json()["detail"]
    assert not LoanDocument.objects.exists() and stored_files(private_root) == []


def test_no_file_is_400_and_json_is_415(customer_client, loan, private_root):
    assert customer_client.post(documents_url(loan), {}, format="multipart").status_code == 400
    assert customer_client.post(documents_url(loan), {"file": "x"}, format="json").status_code == 415
    assert not LoanDocument.objects.exists()


def test_no_documents_once_the_loan_is_disbursed_or_withdrawn(
    customer_client, customer_account, settings, private_root
):
    disbursed = approved(
        apply_loan(policy=issue_policy(customer=customer_account.customer), amount="1000000", tenure_months=3),
        settings,
    )
    services.loan_act(
        loan=disbursed, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="B"
    )
    services.loan_act(loan=disbursed, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    withdrawn = apply_loan(policy=issue_policy(customer=customer_account.customer), amount="1000000", tenure_months=3)
    services.loan_withdraw(loan=withdrawn, actor=customer_account)

    for loan in (disbursed, withdrawn):
        response = upload(customer_client, loan)
        assert response.status_code == 409 and "closed to new documents" in response.json()["detail"]
    assert not LoanDocument.objects.filter(uploaded_by=customer_account).exists()
    # Only the agent's KYC document of the disbursed loan is on disk.
    assert len(stored_files(private_root)) == LoanDocument.objects.count() == 1


def test_the_schema_documents_loan_documents_and_their_refusals(app_client):
    schema = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/v1/loans/{id}/documents/"]
    assert {"get", "post"} <= set(operations)
    assert {"201", "400", "404", "409", "413", "422"} <= set(operations["post"]["responses"])
    assert "multipart/form-data" in operations["post"]["requestBody"]["content"]
