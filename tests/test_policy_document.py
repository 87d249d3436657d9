"""The policy document PDF of a version: what it says, in which language, and that rendering it
never touches the network.

The text is read back from the PDF with pypdf.
"""

import io
import re
import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format
from pypdf import PdfReader
from weasyprint import HTML

from portal.core.money import format_money
from portal.policies.documents import (
    STATIC_DIR,
    FetchRefused,
    LocalStaticFetcher,
    policy_document_filename,
    policy_document_pdf,
)
from portal.policies.services import policy_cancel, policy_endorse

from .factories import CustomerFactory, issue_policy

# --- reading a PDF back --------------------------------------------------------------------------------


def pdf_pages_text(pdf):
    """The text of each page, in page order, whitespace collapsed."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


# --- the document -------------------------------------------------------------------------------------------


@pytest.fixture
def policy(db):
    customer = CustomerFactory(
        full_name="María José Restrepo Gómez",
        id_number="1020304050",
        address="Carrera 15 # 93-47, apto 301",
        city="Bogotá",
        email_primary="maria.restrepo@correo.test",
        phone="+57 310 444 1234",
    )
    return issue_policy(customer=customer)


def spanish(value):
    with translation.override("es-co"):
        return date_format(value, "DATE_FORMAT") if hasattr(value, "year") else value


def spanish_money(amount, currency="COP"):
    with translation.override("es-co"):
        return format_money(Decimal(amount), currency)


def test_the_document_is_a_pdf_of_one_page_named_after_the_policy_and_version(policy):
    version = policy.current_version

    pdf = policy_document_pdf(version=version)

    assert pdf.startswith(b"%PDF-")
    assert len(pdf_pages_text(pdf)) == 1
    assert policy_document_filename(version) == f"{policy.number}-v1.pdf"
    assert re.fullmatch(r"PRD\d+-\d{4}-\d{6}-v1\.pdf", policy_document_filename(version))


def test_the_document_names_the_policy_the_customer_the_coverages_and_the_total_premium(policy):
    version = policy.current_version

    [text] = pdf_pages_text(policy_document_pdf(version=version))

    assert policy.number in text
    assert "María José Restrepo Gómez" in text
    assert "1020304050" in text
    assert "maria.restrepo@correo.test" in text
    for line in version.coverages:
        assert line["name"] in text
        assert spanish_money(line["premium"]) in text
    assert spanish_money(version.breakdown["total"]) in text
    assert spanish_money(version.breakdown["tax"]) in text
    assert spanish_money(version.sum_insured) in text
    assert "Amparo Seguros S.A." in text


def test_the_document_shows_each_deductible_as_a_share_of_the_loss_with_its_minimum(policy):
    [text] = pdf_pages_text(policy_document_pdf(version=policy.current_version, language="en"))

    assert f"10 % of the loss, minimum {format_money(Decimal('1000000'), 'COP')}" in text
    assert "Page 1 of 1" in text


def test_the_document_is_in_spanish_by_default_with_colombian_dates_and_money(policy):
    version = policy.current_version

    [text] = pdf_pages_text(policy_document_pdf(version=version))

    assert spanish(version.start_date) in text
    assert spanish(version.end_date) in text
    assert re.search(r"COP \d{1,3}(\.\d{3})+,\d{2}", text)
    assert "Página 1 de 1" in text
    assert "Page 1 of 1" not in text


def test_the_document_can_be_rendered_in_english(policy):
    version = policy.current_version

    [text] = pdf_pages_text(policy_document_pdf(version=version, language="en"))

    assert "Insurance policy" in text
    assert format_money(Decimal(version.breakdown["total"]), "COP") in text
    with translation.override("en"):
        assert date_format(version.end_date, "DATE_FORMAT") in text


def test_an_endorsement_document_shows_its_version_its_reason_and_the_premium_it_charges(policy):
    effective = timezone.localdate() + timedelta(days=30)
    policy = policy_endorse(
        policy=policy,
        actor=policy.customer.agent,
        effective_date=effective,
        reason="Aumento de suma asegurada",
        sum_insured=Decimal("150000000"),
    )
    version = policy.current_version

    [text] = pdf_pages_text(policy_document_pdf(version=version, language="en"))

    assert "Version 2" in text
    assert "Endorsement" in text
    assert "Aumento de suma asegurada" in text
    assert format_money(Decimal("150000000"), "COP") in text
    assert f"This version charges {format_money(version.premium_change, 'COP')}" in text
    assert policy_document_filename(version) == f"{policy.number}-v2.pdf"


def test_a_cancellation_document_shows_the_cancellation_date_and_the_refund(policy):
    cancel_on = timezone.localdate() + timedelta(days=91)
    policy = policy_cancel(
        policy=policy, actor=policy.customer.agent, effective_date=cancel_on, reason="Venta del vehículo"
    )
    version = policy.current_version
    refund = -version.premium_change
    assert refund > 0

    [text] = pdf_pages_text(policy_document_pdf(version=version, language="en"))

    with translation.override("en"):
        cancelled_on = date_format(cancel_on, "DATE_FORMAT")
    assert f"Cancelled from 00:00 on {cancelled_on}" in text
    assert f"This policy is cancelled from 00:00 on {cancelled_on}" in text
    assert f"Premium returned to the policyholder by this version: {format_money(refund, 'COP')}" in text
    assert "Venta del vehículo" in text


def test_a_cancellation_document_in_spanish_shows_the_date_and_refund_in_colombian_format(policy):
    cancel_on = timezone.localdate() + timedelta(days=91)
    policy = policy_cancel(policy=policy, actor=policy.customer.agent, effective_date=cancel_on, reason="Venta")
    version = policy.current_version

    [text] = pdf_pages_text(policy_document_pdf(version=version))

    assert spanish(cancel_on) in text
    assert spanish_money(-version.premium_change) in text


# --- no network -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "https://tracker.example.com/pixel.gif",
        "ftp://example.com/style.css",
        "file://example.com/etc/passwd",
        "data:text/css,body{}",
    ],
)
def test_the_document_fetcher_refuses_anything_that_is_not_a_local_file(url):
    with pytest.raises(FetchRefused):
        LocalStaticFetcher()(url)


def test_the_document_fetcher_refuses_local_files_outside_the_static_folder():
    with pytest.raises(FetchRefused):
        LocalStaticFetcher()((STATIC_DIR / ".." / "manage.py").resolve().as_uri())
    with pytest.raises(FetchRefused):
        LocalStaticFetcher()("file:///etc/passwd")


def test_the_document_fetcher_serves_the_logo_from_the_static_folder():
    response = LocalStaticFetcher()((STATIC_DIR / "img" / "amparo-logo.svg").as_uri())

    assert response.content_type == "image/svg+xml"
    assert response.read().startswith(b"<svg")


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing connection attempt, refused on the spot."""
    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


REMOTE_IMAGE = '<p>Hola</p><img src="http://203.0.113.7/pixel.png">'


def test_weasyprint_left_to_itself_would_fetch_a_remote_image(connections):
    HTML(string=REMOTE_IMAGE).write_pdf()

    assert connections


def test_with_the_document_fetcher_a_remote_image_is_never_fetched(connections):
    pdf = HTML(string=REMOTE_IMAGE, url_fetcher=LocalStaticFetcher()).write_pdf()

    assert pdf.startswith(b"%PDF-")
    assert connections == []


def test_the_policy_document_loads_only_its_logo_and_through_the_local_fetcher(policy, connections, monkeypatch):
    fetched = []
    fetch = LocalStaticFetcher.fetch

    def recording_fetch(fetcher, url, headers=None):
        fetched.append(url)
        return fetch(fetcher, url, headers)

    monkeypatch.setattr(LocalStaticFetcher, "fetch", recording_fetch)

    pdf = policy_document_pdf(version=policy.current_version)

    assert pdf.startswith(b"%PDF-")
    assert fetched == [(STATIC_DIR / "img" / "amparo-logo.svg").as_uri()]
    assert connections == []
