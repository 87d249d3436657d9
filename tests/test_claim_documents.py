"""Claim documents at the service level: checked by content, kept under a random private name, or refused whole."""

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import documents
from portal.claims.models import ClaimDocument, ClaimStatus
from portal.claims.services import claim_document_add
from portal.core.exceptions import Conflict

from .factories import UserFactory
from .helpers import claim_in, stored_files

pytestmark = pytest.mark.django_db


def image_bytes(kind, size=(8, 6)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def pdf_bytes():
    """A one-page PDF written by hand: header, three objects, cross-reference table, trailer."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    content, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(content))
        content += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(content)
    content += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    content += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    content += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return content


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("factura.pdf", pdf_bytes())
    return buffer.getvalue()


JPEG, PNG, PDF = image_bytes("JPEG"), image_bytes("PNG"), pdf_bytes()
# The start of a Windows program (DOS header and stub) and of a Linux one.
WINDOWS_PROGRAM = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode."
)
LINUX_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 100
HTML_WITH_SCRIPT = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>"


@pytest.fixture
def claim(people):
    return claim_in(ClaimStatus.PENDING, people)


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- accepted ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        pytest.param("foto-bomper.jpg", JPEG, "image/jpeg", id="jpeg"),
        pytest.param("FOTO.JPEG", JPEG, "image/jpeg", id="jpeg in capitals"),
        pytest.param("placa.png", PNG, "image/png", id="png"),
        pytest.param("denuncia policía.pdf", PDF, "application/pdf", id="pdf"),
    ],
)
def test_a_photo_or_pdf_is_kept_under_a_random_private_name_with_its_sha256_size_and_original_name(
    claim, people, private_root, name, content, mime
):
    document = claim_document_add(claim=claim, upload=upload(name, content, "text/plain"), actor=people.filer)

    assert (document.claim, document.uploaded_by, document.original_name) == (claim, people.filer, name)
    # The type is what the bytes are, not what the browser said.
    assert document.content_type == mime
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert re.fullmatch(r"[0-9a-f]{32}\.(jpeg|png|pdf)", document.stored_name)
    assert Path(name).stem.lower() not in document.stored_name
    path = documents.stored_path(document.stored_name)
    assert path.read_bytes() == content
    assert path.resolve().is_relative_to(Path(private_root).resolve())
    assert stored_files(private_root) == [path]
    event = AuditEvent.objects.get(action="claim.document_added")
    assert event.target_id == str(claim.pk)
    assert event.metadata == {"document": document.pk, "name": name, "sha256": document.sha256, "size": len(content)}


def test_the_same_file_attached_twice_is_kept_twice_under_two_names(claim, people, private_root):
    first = claim_document_add(claim=claim, upload=upload("a.png", PNG), actor=people.filer)
    second = claim_document_add(claim=claim, upload=upload("a.png", PNG), actor=people.filer)

    assert first.stored_name != second.stored_name
    assert first.sha256 == second.sha256
    assert len(stored_files(private_root)) == 2


def test_a_path_in_the_file_name_is_dropped_and_never_reaches_the_disk(claim, people, private_root):
    document = claim_document_add(claim=claim, upload=upload("../../etc/cron.d/placa.png", PNG), actor=people.filer)

    assert document.original_name == "placa.png"
    assert documents.stored_path(document.stored_name).resolve().is_relative_to(Path(private_root).resolve())


def test_private_documents_live_outside_every_public_directory():
    private = Path(django_settings.AMPARO_PRIVATE_ROOT).resolve()
    public = [django_settings.MEDIA_ROOT, django_settings.STATIC_ROOT, *django_settings.STATICFILES_DIRS]

    for directory in filter(None, public):
        directory = Path(directory).resolve()
        assert not private.is_relative_to(directory)
        assert not directory.is_relative_to(private)


@pytest.mark.parametrize("status", [s for s in ClaimStatus if s != ClaimStatus.CLOSED])
def test_documents_may_be_added_while_the_claim_is_not_closed(people, private_root, status):
    claim = claim_in(status, people)

    assert claim_document_add(claim=claim, upload=upload("a.pdf", PDF), actor=people.decider).claim == claim


def test_a_file_exactly_at_the_size_limit_is_accepted(claim, people, private_root, settings):
    settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES = len(PNG)

    assert claim_document_add(claim=claim, upload=upload("a.png", PNG), actor=people.filer).size == len(PNG)


# --- refused -----------------------------------------------------------------------------------------------


def refusal(claim, actor, the_upload, error=ValidationError):
    documents_before, events_before = ClaimDocument.objects.count(), AuditEvent.objects.count()
    with pytest.raises(error) as refused:
        claim_document_add(claim=claim, upload=the_upload, actor=actor)
    assert (ClaimDocument.objects.count(), AuditEvent.objects.count()) == (documents_before, events_before)
    return refused.value


REFUSED = [
    pytest.param("vacio.pdf", b"", "The file vacio.pdf is empty.", id="empty"),
    pytest.param(
        "factura.pdf",
        WINDOWS_PROGRAM,
        "factura.pdf is a program; only photos and PDF documents can be attached.",
        id="windows program named pdf",
    ),
    pytest.param(
        "foto.jpg",
        LINUX_PROGRAM,
        "foto.jpg is a program; only photos and PDF documents can be attached.",
        id="linux program named jpg",
    ),
    pytest.param(
        "foto.jpg.exe", JPEG, "foto.jpg.exe is a program; only photos and PDF documents can be attached.", id="exe"
    ),
    pytest.param(
        "escaneo.pdf",
        PNG,
        "escaneo.pdf is named like a .pdf file but holds a PNG file; rename it or attach the right file.",
        id="png named pdf",
    ),
    pytest.param(
        "foto.png",
        JPEG,
        "foto.png is named like a .png file but holds a JPG file; rename it or attach the right file.",
        id="jpeg named png",
    ),
    pytest.param(
        "foto",
        PNG,
        "foto has no extension but holds a PNG file; name it .png or attach the right file.",
        id="no extension",
    ),
    pytest.param(
        "notas.txt",
        "El carro quedó destruido.".encode(),
        "notas.txt is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
        id="text",
    ),
    pytest.param(
        "notas.pdf",
        b"Just some text pretending to be a PDF",
        "notas.pdf is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
        id="text named pdf",
    ),
    pytest.param(
        "soportes.zip", zip_bytes(), "soportes.zip is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.", id="zip"
    ),
    pytest.param(
        "soportes.pdf",
        zip_bytes(),
        "soportes.pdf is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
        id="zip named pdf",
    ),
    pytest.param(
        "foto.jpg",
        HTML_WITH_SCRIPT,
        "foto.jpg is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
        id="html with a script named jpg",
    ),
    pytest.param(
        "foto.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "foto.svg is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
        id="svg with a script",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_file_that_is_not_a_photo_or_pdf_of_its_name_is_refused_and_nothing_is_written(
    claim, people, private_root, name, content, message
):
    error = refusal(claim, people.filer, upload(name, content, "image/jpeg"))

    assert error.messages == [message]
    assert stored_files(private_root) == []


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_the_check_alone_refuses_the_same_files_with_the_same_message(name, content, message):
    with pytest.raises(ValidationError) as refused:
        documents.checked_upload(upload(name, content))

    assert refused.value.messages == [message]


def test_a_file_one_byte_over_the_size_limit_is_refused_with_both_sizes(claim, people, private_root, settings):
    settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES = 2048
    big = image_bytes("PNG", size=(64, 64)) + b"\x00" * 2048

    error = refusal(claim, people.filer, upload("grande.png", big))

    assert error.messages == [
        f"The file grande.png is {len(big) / 1024:.1f}\xa0KB; the most a document may be is 2.0\xa0KB."
    ]
    assert stored_files(private_root) == []


def test_a_closed_claim_refuses_documents(people, private_root):
    claim = claim_in(ClaimStatus.CLOSED, people)

    error = refusal(claim, people.decider, upload("a.pdf", PDF), Conflict)

    assert error.messages == [f"Claim {claim.number} is closed; reopen it to add documents."]
    assert stored_files(private_root) == []


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
def test_roles_that_do_not_handle_claims_may_not_add_documents(claim, private_root, role):
    refusal(claim, UserFactory(role=role), upload("a.pdf", PDF), PermissionDenied)

    assert stored_files(private_root) == []


def test_the_customer_adds_documents_to_their_own_claim_only(claim, private_root):
    owner = UserFactory(role=Role.CLIENT)
    claim.customer.user = owner
    claim.customer.save(update_fields=["user"])

    document = claim_document_add(claim=claim, upload=upload("foto.jpg", JPEG), actor=owner)

    assert document.uploaded_by == owner
    refusal(claim, UserFactory(role=Role.CLIENT), upload("a.pdf", PDF), PermissionDenied)
    assert len(stored_files(private_root)) == 1


def test_several_files_are_kept_all_or_none_and_a_refused_one_leaves_no_file_of_the_others(claim, people, private_root):
    from portal.claims.services import claim_documents_add

    good, bad = upload("foto.jpg", JPEG), upload("programa.pdf", b"MZ\x90\x00" + b"\x00" * 64)

    with pytest.raises(ValidationError):
        claim_documents_add(claim=claim, uploads=[good, bad], actor=people.filer)

    assert not ClaimDocument.objects.filter(claim=claim).exists()
    assert stored_files(private_root) == []
    uploads = [upload("foto.jpg", JPEG), upload("b.png", PNG)]
    added = claim_documents_add(claim=claim, uploads=uploads, actor=people.filer)
    assert [document.original_name for document in added] == ["foto.jpg", "b.png"]
    assert len(stored_files(private_root)) == 2
