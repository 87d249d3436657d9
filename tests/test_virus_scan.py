"""Virus scanning of uploads through Debian's ClamAV daemon (started for the tests with an EICAR signature
made for them): an infected claim document or bordereau is refused with a clear message before anything
is stored; a clamd that cannot answer refuses too; without CLAMD_ADDRESS scanning is off."""

import os
import socket
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.claims import services
from portal.claims.models import ClaimDocument
from portal.core.virus_scan import ScanUnavailable, scan_stream
from portal.ingestion.models import ImportJob, Source

from .clamd_server import EICAR, SIGNATURE_NAME, LocalClamd, clamd_available
from .factories import CustomerFactory, ProductFactory, file_claim, issue_policy
from .helpers import JPEG, PDF
from .helpers import document_upload as upload
from .helpers import post_claim_files as post_files

# CI (.ci/run installs clamav-daemon) runs these always: there a missing clamd fails them instead.
pytestmark = pytest.mark.skipif(
    not clamd_available() and not os.environ.get("CI"), reason="Debian's clamav-daemon is not installed"
)


@pytest.fixture
def claim(agent):
    policy = issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=ProductFactory())
    return file_claim(policy=policy, actor=agent)


@pytest.fixture(scope="module")
def clamd(tmp_path_factory):
    server = LocalClamd(tmp_path_factory.mktemp("clamd")).start()
    yield server
    server.stop()


@pytest.fixture
def scanning(clamd, settings, tmp_path):
    settings.CLAMD_ADDRESS = clamd.address
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    return clamd


def infected_pdf():
    return PDF + b"\n% attachment\n" + EICAR + b"\n%%EOF\n"


def stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()]


def test_clean_bytes_pass_and_the_eicar_string_is_found(scanning):
    assert scan_stream([JPEG]).clean
    verdict = scan_stream([b"some text before ", EICAR, b" and after"])
    assert not verdict.clean
    assert verdict.signature.startswith(SIGNATURE_NAME)


def test_a_file_larger_than_one_chunk_is_scanned_whole(scanning):
    verdict = scan_stream([b"\0" * 200_000 + EICAR])
    assert not verdict.clean


def test_an_infected_claim_document_is_refused_by_name_and_nothing_is_stored(scanning, claim, agent, tmp_path):
    with pytest.raises(ValidationError) as refusal:
        services.claim_document_add(claim=claim, upload=upload("informe.pdf", infected_pdf()), actor=agent)
    assert f"informe.pdf contains a virus ({SIGNATURE_NAME}" in refusal.value.messages[0]
    assert "nothing was stored" in refusal.value.messages[0]
    assert not ClaimDocument.objects.exists()
    assert stored_files(tmp_path) == []


def test_the_claim_page_shows_the_refusal_and_keeps_the_clean_file_out_too(scanning, client, claim, agent, tmp_path):
    client.force_login(agent)
    response = post_files(client, claim, upload("foto.jpg", JPEG), upload("informe.pdf", infected_pdf()), htmx=True)
    assert response.status_code == 422
    assert "informe.pdf contains a virus" in response.content.decode()
    assert not ClaimDocument.objects.exists()
    assert stored_files(tmp_path) == []


def test_a_clean_document_is_stored_when_scanning_is_on(scanning, claim, agent):
    services.claim_document_add(claim=claim, upload=upload("foto.jpg", JPEG), actor=agent)
    assert ClaimDocument.objects.count() == 1


def test_an_infected_bordereau_is_refused_before_it_is_stored(scanning, client, admin_user, tmp_path):
    source = Source.objects.create(name="Cedente Andina")
    csv = b"policy_number,insured_name\nPOL-1,Ana\n" + EICAR + b"\n"
    client.force_login(admin_user)
    response = client.post(
        reverse("ingestion:upload"),
        {"source": source.pk, "kind": "risk", "period": "2026-10", "file": SimpleUploadedFile("bdx.csv", csv)},
    )
    assert "bdx.csv contains a virus" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert stored_files(tmp_path) == []


def test_a_clamd_that_cannot_be_reached_refuses_the_upload(settings, claim, agent, tmp_path):
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:1"
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    with pytest.raises(ValidationError, match="could not be checked for viruses just now"):
        services.claim_document_add(claim=claim, upload=upload("foto.jpg", JPEG), actor=agent)
    assert stored_files(tmp_path) == []


def test_a_clamd_that_hangs_up_without_a_verdict_is_unavailable(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up():
        connection, _ = listener.accept()
        connection.recv(64)
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    settings.CLAMD_ADDRESS = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    settings.CLAMD_TIMEOUT_SECONDS = 2
    with pytest.raises(ScanUnavailable):
        scan_stream([JPEG])
    listener.close()


def test_without_an_address_scanning_is_off(settings, claim, agent, tmp_path):
    settings.CLAMD_ADDRESS = ""
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    services.claim_document_add(claim=claim, upload=upload("informe.pdf", infected_pdf()), actor=agent)
    assert ClaimDocument.objects.count() == 1
