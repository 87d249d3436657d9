"""Claim documents through the pages: uploads from the claim page (HTMX and full page) and with the
first notice of loss, checked by content; downloads only through the permission-checked view."""

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.claims import services
from portal.claims.documents import stored_path
from portal.claims.models import Claim, ClaimDocument, RejectionReason

from .factories import CustomerFactory, ProductFactory, TeamFactory, UserFactory, file_claim, issue_policy
from .helpers import JPEG, signed_in
from .helpers import document_upload as upload
from .helpers import post_claim_files as post_files

pytestmark = pytest.mark.usefixtures("private_root")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture
def policy(agent):
    return issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=ProductFactory())


@pytest.fixture
def claim(policy, agent):
    return file_claim(policy=policy, actor=agent)


@pytest.fixture
def document(claim, agent):
    return services.claim_document_add(claim=claim, upload=upload("Foto choque.jpg", JPEG), actor=agent)


@pytest.mark.parametrize("htmx", [True, False])
def test_an_agent_uploads_a_photo_and_a_pdf_from_the_claim_page(client, agent, claim, htmx):
    response = post_files(
        signed_in(client, agent), claim, upload("choque.jpg", JPEG), upload("denuncia.pdf", PDF), htmx=htmx
    )

    documents = list(ClaimDocument.objects.filter(claim=claim).order_by("id"))
    assert [(d.original_name, d.content_type) for d in documents] == [
        ("choque.jpg", "image/jpeg"),
        ("denuncia.pdf", "application/pdf"),
    ]
    assert all(stored_path(d.stored_name).read_bytes() in (JPEG, PDF) for d in documents)
    if htmx:
        body = response.content.decode()
        assert response.status_code == 200 and "<html" not in body
        assert "choque.jpg" in body and "2 documents added." in body
    else:
        assert response.status_code == 302
        assert "2 documents added." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("factura.pdf", EXE, "factura.pdf is a program; only photos and PDF documents can be attached."),
        ("foto.png", JPEG, "foto.png is named like a .png file but holds a JPG file"),
        ("notas.txt", b"just some text", "notas.txt is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document."),
    ],
)
def test_a_program_or_a_mismatched_file_is_refused_with_the_reason_and_nothing_is_kept(
    client, agent, claim, private_root, name, content, message
):
    response = post_files(signed_in(client, agent), claim, upload("bien.pdf", PDF), upload(name, content), htmx=True)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ClaimDocument.objects.exists()
    assert not any(path.is_file() for path in private_root.rglob("*"))


def test_an_oversize_file_is_refused_with_the_limit(client, agent, claim, settings):
    settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES = 100

    content = PDF + b"\x00" * 200

    response = post_files(signed_in(client, agent), claim, upload("grande.pdf", content), htmx=True)

    assert response.status_code == 422
    message = f"The file grande.pdf is {len(content)}\xa0bytes; the most a document may be is 100\xa0bytes."
    assert message in response.content.decode()
    assert not ClaimDocument.objects.exists()


def test_a_refused_upload_on_the_full_page_comes_back_with_the_reason(client, agent, claim):
    response = post_files(signed_in(client, agent), claim, upload("virus.exe", EXE))

    assert response.status_code == 302
    assert "virus.exe is a program" in client.get(response["Location"]).content.decode()


def test_an_upload_without_a_file_asks_for_one(client, agent, claim):
    response = post_files(signed_in(client, agent), claim, htmx=True)

    assert response.status_code == 422 and "This field is required." in response.content.decode()


def test_a_closed_claim_takes_no_documents(client, agent, supervisor, claim):
    services.claim_start_review(claim=claim, actor=agent)
    reason = RejectionReason.objects.first()
    services.claim_reject(claim=claim, actor=supervisor, reason=reason, note="No")
    services.claim_close(claim=claim, actor=supervisor)
    signed_in(client, agent)

    page = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    response = post_files(client, claim, upload("tarde.jpg", JPEG), htmx=True)

    assert 'data-testid="upload-form"' not in page
    assert response.status_code == 409 and "is closed; reopen it to add documents" in response.content.decode()
    assert not ClaimDocument.objects.exists()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_cannot_upload(client, claim, role):
    response = post_files(signed_in(client, UserFactory(role=role)), claim, upload("a.jpg", JPEG))

    assert response.status_code == 403
    assert not ClaimDocument.objects.exists()


def test_an_upload_to_a_claim_outside_the_book_is_404(client, claim):
    outsider = UserFactory(role=Role.AGENT, team=TeamFactory())

    assert post_files(signed_in(client, outsider), claim, upload("a.jpg", JPEG)).status_code == 404


# --- filing with documents ----------------------------------------------------------------------------


def filing(policy, **changes):
    data = {
        "policy": policy.number,
        "loss_date": timezone.localdate().isoformat(),
        "coverage_code": "RC",
        "claimed_amount": "2000000",
        "description": "Choque",
    }
    data.update(changes)
    return data


def test_a_claim_filed_with_documents_keeps_them(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("claims:claim_file"), filing(policy, documents=[upload("a.jpg", JPEG), upload("b.pdf", PDF)])
    )

    claim = Claim.objects.get()
    assert response.status_code == 302
    assert sorted(ClaimDocument.objects.filter(claim=claim).values_list("original_name", flat=True)) == [
        "a.jpg",
        "b.pdf",
    ]
    assert f"Claim {claim.number} filed with 2 documents." in client.get(response["Location"]).content.decode()


def test_a_claim_with_a_bad_document_is_not_filed_and_the_form_names_the_file(client, agent, policy, private_root):
    response = signed_in(client, agent).post(
        reverse("claims:claim_file"), filing(policy, documents=[upload("a.jpg", JPEG), upload("factura.pdf", EXE)])
    )

    assert response.status_code == 422
    assert "factura.pdf is a program" in " ".join(response.context["form"].errors["documents"])
    assert not Claim.objects.exists() and not ClaimDocument.objects.exists()
    assert not any(path.is_file() for path in private_root.rglob("*"))


# --- downloads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "supervisor", Role.FINANCE, Role.INTERVENTORIA, Role.ADMIN])
def test_the_document_downloads_as_an_attachment_for_everyone_who_sees_the_claim(
    client, agent, supervisor, document, role
):
    user = {"agent": agent, "supervisor": supervisor}.get(role) or UserFactory(role=role)

    response = signed_in(client, user).get(reverse("claims:document_download", args=[document.claim_id, document.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Foto" in response["Content-Disposition"] and "choque.jpg" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == JPEG


def test_a_document_outside_the_users_book_is_404(client, document):
    outsider = UserFactory(role=Role.SUPERVISOR)

    response = signed_in(client, outsider).get(
        reverse("claims:document_download", args=[document.claim_id, document.pk])
    )

    assert response.status_code == 404


def test_a_document_asked_for_through_another_claim_is_404(client, agent, policy, document):
    other = file_claim(policy=policy, actor=agent)

    response = signed_in(client, agent).get(reverse("claims:document_download", args=[other.pk, document.pk]))

    assert response.status_code == 404


def test_a_document_whose_file_is_missing_is_404_not_500(client, agent, document):
    stored_path(document.stored_name).unlink()

    response = signed_in(client, agent).get(reverse("claims:document_download", args=[document.claim_id, document.pk]))

    assert response.status_code == 404


def test_the_claim_page_lists_the_documents_with_size_and_fingerprint(client, agent, document):
    body = signed_in(client, agent).get(reverse("claims:claim_detail", args=[document.claim_id])).content.decode()

    assert "Foto choque.jpg" in body and document.sha256[:12] in body
    assert reverse("claims:document_download", args=[document.claim_id, document.pk]) in body
