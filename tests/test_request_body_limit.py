"""Request bodies are capped from their Content-Length before anything reads or spools them: any page
takes at most AMPARO_REQUEST_BODY_MAX_BYTES, the document uploads AMPARO_UPLOAD_BODY_MAX_BYTES."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from portal.claims.models import ClaimDocument

from .factories import CustomerFactory, ProductFactory, file_claim, issue_policy

pytestmark = pytest.mark.usefixtures("private_root")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def claim(agent):
    policy = issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=ProductFactory())
    return file_claim(policy=policy, actor=agent)


def pdf_of(size):
    return SimpleUploadedFile("informe.pdf", PDF + b"%" * (size - len(PDF)), content_type="application/pdf")


def test_a_document_upload_over_the_upload_cap_is_413_and_nothing_is_stored(settings, client, agent, claim):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 20_000
    client.force_login(agent)

    response = client.post(reverse("claims:document_upload", args=[claim.pk]), {"files": [pdf_of(30_000)]})

    assert response.status_code == 413
    assert "the most this page accepts is 19.5" in response.content.decode()
    assert not ClaimDocument.objects.exists()


def test_a_document_upload_within_the_upload_cap_goes_through(settings, client, agent, claim):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 20_000
    settings.AMPARO_REQUEST_BODY_MAX_BYTES = 1_000  # the page's own, larger cap is what counts
    client.force_login(agent)

    response = client.post(reverse("claims:document_upload", args=[claim.pk]), {"files": [pdf_of(10_000)]})

    assert response.status_code == 302
    assert ClaimDocument.objects.filter(claim=claim).count() == 1


def test_filing_a_claim_with_documents_over_the_cap_is_413(settings, client, agent, claim):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 20_000
    client.force_login(agent)
    response = client.post(reverse("claims:claim_file"), {"documents": [pdf_of(30_000)]})
    assert response.status_code == 413


def test_any_other_page_refuses_a_body_over_the_general_cap(settings, client, agent):
    settings.AMPARO_REQUEST_BODY_MAX_BYTES = 1_000
    client.force_login(agent)
    response = client.post(reverse("customers:customer_create"), {"full_name": "x" * 5_000})
    assert response.status_code == 413
    assert 'data-testid="too-large"' in response.content.decode()


def test_the_refusal_comes_before_the_csrf_check_reads_the_body(settings, agent, claim):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 20_000
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    response = client.post(reverse("claims:document_upload", args=[claim.pk]), {"files": [pdf_of(30_000)]})
    assert response.status_code == 413


def test_an_api_request_over_the_cap_gets_a_json_detail(settings, client):
    settings.AMPARO_REQUEST_BODY_MAX_BYTES = 1_000
    response = client.post("/api/v1/webhooks/wompi/", b"{" + b" " * 5_000 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert "the most this page accepts" in response.json()["detail"]
