"""The bordereau pages through Django's test client: who may open and do what, the upload form,
the HTMX partials, the error report and its exports, the imported rows, profiles and the mapping
screen.

Huey runs in immediate mode here, and the import is queued on commit: wrapping a request in
`django_capture_on_commit_callbacks(execute=True)` runs the whole import inside that request.
"""

import csv
import io
import os
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.ingestion import services
from portal.ingestion.fields import FIELDS, Kind
from portal.ingestion.models import ClaimRow, ImportJob, MappingProfile, RiskRow, RowError, Source
from portal.ingestion.views import PROFILE_REASON, READ_REASON, UPLOAD_REASON

from .factories import UserFactory
from .ingestion_workbooks import number_cell, sheet_row, text_cell, write_workbook

pytestmark = pytest.mark.usefixtures("private_root")

HTMX = {"HX-Request": "true"}
STAFF_ONLY = "The portal is for Amparo staff. Customers use the Amparo mobile app."

RISK_LABELS = [spec.label for spec in FIELDS[Kind.RISK]]
CURRENCIES = ["COP", "USD", "EUR"]
CLASSES = ["Property", "Marine", "Casualty"]
HYPERLINK = '=HYPERLINK("http://evil.example/steal","Click me")'


# --- files ----------------------------------------------------------------------------------------


def es_amount(value):
    """1234567.8 -> '1.234.567,80' (the way Colombian cedants write amounts)."""
    return f"{Decimal(value):,.2f}".translate(str.maketrans(",.", ".,"))


def risk_row(number, **overrides):
    """A valid risk row (by label); overrides replace cells by our field name."""
    gross = Decimal(1000 + number)
    values = {
        "umr": "B0750RE26",
        "certificate_ref": f"CERT-{number:05d}",
        "insured_name": f"Asegurado {number} S.A.S.",
        "inception_date": "15/10/2026",
        "expiry_date": "14/10/2027",
        "country": "CO",
        "currency": CURRENCIES[number % 3],
        "sum_insured": es_amount(1_000_000 + number * 1000),
        "gross_premium": es_amount(gross),
        "commission_pct": "10",
        "total_taxes": es_amount(50),
        "net_premium": es_amount(gross * Decimal("0.9") - 50),
        "class_of_business": CLASSES[number % 3],
        "transaction_type": "New",
    }
    values.update(overrides)
    return [values[spec.name] for spec in FIELDS[Kind.RISK]]


def risk_file(rows, *, headers=RISK_LABELS, title="Bordereau de riesgos - Reaseguros Andinos - octubre 2026"):
    """A messy-but-readable risk bordereau: ';' delimiter, comma decimals, a title row and a totals row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([title])
    writer.writerow(headers)
    writer.writerows(rows)
    writer.writerow(["Total", "", "", "", "", "", "", "", "", "", "", "", "", ""])
    return buffer.getvalue().encode("utf-8")


def valid_rows(count, start=0):
    return [risk_row(number) for number in range(start, start + count)]


# Data rows start on line 3 (title on 1, header on 2): row index i is line i + 3.
BAD_ROWS = {
    5: (risk_row(5, inception_date="31/02/2026"), "Risk Inception Date", "31/02/2026", "Not a date in the format"),
    6: (risk_row(6, currency="ZZZ"), "Original Currency", "ZZZ", "Not an ISO 4217 currency code"),
    7: (risk_row(0), "UMR + Certificate Ref + Transaction Type", "B0750RE26 / CERT-00000 / New", "Same key as row 3"),
    8: (
        risk_row(8, gross_premium="1.000,00", net_premium="999,99"),
        "Net Premium",
        "999.99",
        "Should be gross - commission - taxes = 850.00",
    ),
    9: (risk_row(9, currency=HYPERLINK), "Original Currency", HYPERLINK, "Not an ISO 4217 currency code"),
    10: (risk_row(10, sum_insured="-5,00"), "Sum Insured", "-5,00", "Must not be negative"),
}


def file_with_errors():
    """12 data rows: 6 good ones, 6 rejected (bad date, currency, duplicate key, net premium, formula, negative)."""
    rows = [BAD_ROWS[index][0] if index in BAD_ROWS else risk_row(index) for index in range(12)]
    return risk_file(rows)


def as_upload(content, name="bordereau-2026-10.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


# --- fixtures -------------------------------------------------------------------------------------


def stored_files(private_root):
    return [path for path in private_root.rglob("*") if path.is_file()] if private_root.exists() else []


@pytest.fixture
def source(db):
    return Source.objects.create(name="Reaseguros Andinos S.A.")


@pytest.fixture
def imported(django_capture_on_commit_callbacks, source, finance_user):
    """A finished import of `file_with_errors()`: 6 rows loaded, 6 rejected."""
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_create(
            actor=finance_user,
            source=source,
            kind=Kind.RISK,
            period=date(2026, 10, 1),
            upload=as_upload(file_with_errors()),
            original_name="andinos-2026-10.csv",
        )
    job.refresh_from_db()
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 6, 6), job.error
    return job


UNUSUAL_HEADERS = [
    "UMR",
    "Nro. Cert.",
    "Cliente",
    "Desde",
    "Hasta",
    "Location of Risk Country",
    "Original Currency",
    "Sum Insured",
    "Gross Premium",
    "Commission %",
    "Total Taxes",
    "Net Premium",
    "Class of Business",
    "Transaction Type",
]
UNUSUAL_MAPPING = {
    "certificate_ref": "Nro. Cert.",
    "insured_name": "Cliente",
    "inception_date": "Desde",
    "expiry_date": "Hasta",
}


@pytest.fixture
def mapping_job(source, finance_user):
    """A file whose certificate, insured and date columns are not recognised: it waits for a mapping."""
    job = services.import_job_create(
        actor=finance_user,
        source=source,
        kind=Kind.RISK,
        period=date(2026, 10, 1),
        upload=as_upload(risk_file(valid_rows(4), headers=UNUSUAL_HEADERS), name="unusual.csv"),
        original_name="unusual.csv",
    )
    assert job.status == ImportJob.Status.MAPPING
    return job


def full_mapping(job, **changes):
    """The mapping form's POST data: every recognised column plus UNUSUAL_MAPPING, then `changes`."""
    headers = job.layout["headers"]
    data = {name: headers[position] for name, position in job.layout["columns"].items()}
    data.update(UNUSUAL_MAPPING)
    data.update(changes)
    return {spec.name: data.get(spec.name, "") for spec in FIELDS[job.kind]}


def signed_in(client, user):
    client.force_login(user)
    return client


# --- permissions ----------------------------------------------------------------------------------

# name, method, guard ("read", "upload", "manage" = read then change, "profile")
ENDPOINTS = [
    ("job list", "get", "read"),
    ("job list as an HTMX partial", "htmx", "read"),
    ("job page", "get", "read"),
    ("job progress poll", "progress", "read"),
    ("error report as CSV", "get", "read"),
    ("error report as XLSX", "get", "read"),
    ("original file", "get", "read"),
    ("risk rows", "get", "read"),
    ("claims rows", "get", "read"),
    ("rows export", "get", "read"),
    ("sources", "get", "read"),
    ("upload page", "get", "upload"),
    ("upload", "post", "upload"),
    ("mapping screen", "get", "upload"),
    ("mapping saved", "post", "upload"),
    ("cancel", "post", "manage"),
    ("retry", "post", "manage"),
    ("profile page", "get", "profile"),
    ("profile saved", "post", "profile"),
]

ALLOWED = {
    Role.ADMIN: {"read", "upload", "manage", "profile"},
    Role.FINANCE: {"read", "upload", "manage"},
    Role.INTERVENTORIA: {"read"},
    Role.SUPERVISOR: set(),
    Role.AGENT: set(),
}


@pytest.fixture
def world(imported, mapping_job):
    """One finished job with errors, one waiting for a mapping, and their source."""
    return {"job": imported, "mapping_job": mapping_job, "source": imported.source}


def endpoint_url(name, world):
    job, mapping_job, source = world["job"], world["mapping_job"], world["source"]
    return {
        "job list": reverse("ingestion:job_list"),
        "job list as an HTMX partial": reverse("ingestion:job_list"),
        "job page": reverse("ingestion:job_detail", args=[job.pk]),
        "job progress poll": reverse("ingestion:job_detail", args=[job.pk]),
        "error report as CSV": reverse("ingestion:job_errors_export", args=[job.pk, "csv"]),
        "error report as XLSX": reverse("ingestion:job_errors_export", args=[job.pk, "xlsx"]),
        "original file": reverse("ingestion:job_file", args=[job.pk]),
        "risk rows": reverse("ingestion:rows", args=["risk"]),
        "claims rows": reverse("ingestion:rows", args=["claims"]),
        "rows export": reverse("ingestion:rows", args=["risk"]) + "?export=csv",
        "sources": reverse("ingestion:source_list"),
        "upload page": reverse("ingestion:upload"),
        "upload": reverse("ingestion:upload"),
        "mapping screen": reverse("ingestion:job_mapping", args=[mapping_job.pk]),
        "mapping saved": reverse("ingestion:job_mapping", args=[mapping_job.pk]),
        "cancel": reverse("ingestion:job_cancel", args=[mapping_job.pk]),
        "retry": reverse("ingestion:job_retry", args=[job.pk]),
        "profile page": reverse("ingestion:profile_edit", args=[source.pk, "risk"]),
        "profile saved": reverse("ingestion:profile_edit", args=[source.pk, "risk"]),
    }[name]


def endpoint_post_data(name, world):
    if name == "upload":
        return {
            "new_source": "Intruder Re",
            "kind": "risk",
            "period": "2026-10",
            "file": as_upload(file_with_errors(), name="other.csv"),
        }
    if name == "mapping saved":
        return full_mapping(world["mapping_job"])
    if name == "profile saved":
        return {
            "settings-encoding": "utf-8",
            "settings-delimiter": ";",
            "settings-date_format": "auto",
            "settings-decimal_style": "comma",
        }
    return {}


def call(client, name, method, world):
    url = endpoint_url(name, world)
    if method == "post":
        return client.post(url, endpoint_post_data(name, world))
    if method == "htmx":
        return client.get(url, headers=HTMX)
    if method == "progress":
        return client.get(url, {"was_active": "1"}, headers={**HTMX, "HX-Target": "job-progress"})
    return client.get(url)


def snapshot():
    """What a refused request must leave untouched."""
    return (
        list(ImportJob.objects.order_by("pk").values_list("pk", "status", "cancel_requested")),
        Source.objects.count(),
        MappingProfile.objects.count(),
        RiskRow.objects.count(),
        AuditEvent.objects.count(),
    )


def expected_reason(guard, role):
    if guard == "profile":
        return PROFILE_REASON
    if guard == "upload" or (guard == "manage" and "read" in ALLOWED[role]):
        return UPLOAD_REASON
    return READ_REASON


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_staff_role_opens_exactly_the_bordereau_pages_and_actions_it_is_allowed(
    client, world, role, django_capture_on_commit_callbacks
):
    signed_in(client, UserFactory(role=role))
    for name, method, guard in ENDPOINTS:
        before = snapshot()
        with django_capture_on_commit_callbacks(execute=True):
            response = call(client, name, method, world)
        if guard in ALLOWED[role]:
            assert response.status_code in {200, 302}, f"{role} {name}: {response.status_code}"
            if name == "retry":
                # a succeeded job cannot be retried: the answer says so, nothing changes
                assert snapshot() == before
        else:
            assert response.status_code == 403, f"{role} {name}: {response.status_code}"
            body = response.content.decode()
            assert str(expected_reason(guard, role)) in body, f"{role} {name}: reason missing"
            assert world["job"].original_name not in body
            assert snapshot() == before, f"{role} {name} changed something"


@pytest.mark.parametrize(("name", "method", "guard"), ENDPOINTS, ids=[endpoint[0] for endpoint in ENDPOINTS])
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_bordereau_page_and_action(
    client, world, name, method, guard
):
    before = snapshot()
    response = call(client, name, method, world)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert snapshot() == before


def test_a_customer_account_is_refused_every_bordereau_page(client, world, client_user):
    signed_in(client, client_user)
    for name, method, _guard in ENDPOINTS:
        before = snapshot()
        response = call(client, name, method, world)
        assert response.status_code == 403, name
        assert STAFF_ONLY in response.content.decode()
        assert snapshot() == before


def test_interventoria_sees_the_job_page_without_the_cancel_or_retry_buttons(client, auditor, world):
    signed_in(client, auditor)
    for job in (world["job"], world["mapping_job"]):
        body = client.get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
        assert 'data-testid="cancel-job"' not in body
        assert 'data-testid="retry-job"' not in body
    body = client.get(reverse("ingestion:job_list")).content.decode()
    assert 'data-testid="upload-link"' not in body
    assert world["job"].original_name in body


def test_finance_sees_the_upload_link_and_the_cancel_button_of_an_import_waiting_for_its_mapping(
    client, finance_user, world
):
    signed_in(client, finance_user)
    assert 'data-testid="upload-link"' in client.get(reverse("ingestion:job_list")).content.decode()
    detail = client.get(reverse("ingestion:job_detail", args=[world["mapping_job"].pk])).content.decode()
    assert 'data-testid="cancel-job"' in detail


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.ADMIN, True),
        (Role.FINANCE, True),
        (Role.INTERVENTORIA, True),
        (Role.SUPERVISOR, False),
        (Role.AGENT, False),
    ],
)
def test_the_navigation_shows_bordereaux_to_admin_finance_and_interventoria_only(client, db, role, shown):
    signed_in(client, UserFactory(role=role))
    body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert 'data-testid="main-nav"' in body
    assert ('data-nav="ingestion:job_list"' in body) is shown


def test_cancel_and_retry_answer_only_to_post(client, finance_user, world):
    signed_in(client, finance_user)
    for name in ("ingestion:job_cancel", "ingestion:job_retry"):
        response = client.get(reverse(name, args=[world["job"].pk]))
        assert response.status_code == 405


# --- upload ---------------------------------------------------------------------------------------


def nothing_written(private_root):
    assert ImportJob.objects.count() == 0
    assert Source.objects.count() == 0
    assert AuditEvent.objects.filter(action__startswith="ingestion.").count() == 0
    assert stored_files(private_root) == []


def post_upload(client, django_capture_on_commit_callbacks, **fields):
    data = {"new_source": "Reaseguros Andinos S.A.", "kind": "risk", "period": "2026-10"}
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("ingestion:upload"), data)


def test_a_finance_user_uploads_a_file_for_a_new_source_and_the_import_runs_to_its_end(
    client, finance_user, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    response = post_upload(client, django_capture_on_commit_callbacks, file=as_upload(file_with_errors()))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[job.pk])
    assert job.source.name == "Reaseguros Andinos S.A."
    assert (job.kind, job.period, job.created_by) == (Kind.RISK, date(2026, 10, 1), finance_user)
    assert (job.status, job.rows_total, job.rows_loaded, job.rows_rejected, job.progress) == (
        ImportJob.Status.SUCCEEDED,
        12,
        6,
        6,
        100,
    )
    assert RiskRow.objects.filter(source=job.source, period=date(2026, 10, 1)).count() == 6
    assert set(AuditEvent.objects.filter(target_id=str(job.pk)).values_list("action", flat=True)) >= {
        "ingestion.import_queued",
        "ingestion.import_finished",
    }
    page = client.get(response["Location"]).content.decode()
    assert "File received. The import runs in the background." in page
    assert 'data-testid="error-report"' in page


def test_an_upload_whose_premiums_are_whole_numbers_loads_every_row_whose_net_premium_is_right_to_the_cent(
    client, finance_user, django_capture_on_commit_callbacks
):
    """Gross 1.006,00 at 10 % commission and 50,00 taxes nets 855,40: the check must not round the
    commission to whole units (SQLite divides integers as integers)."""
    signed_in(client, finance_user)
    post_upload(client, django_capture_on_commit_callbacks, file=as_upload(risk_file(valid_rows(10, start=6))))
    job = ImportJob.objects.get()
    assert list(job.row_errors.values_list("message", flat=True)) == []
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 10, 0)
    assert RiskRow.objects.get(certificate_ref="CERT-00006").net_premium == Decimal("855.40")


def test_an_upload_without_a_source_is_refused_with_a_message_and_writes_nothing(
    client, finance_user, django_capture_on_commit_callbacks, private_root
):
    signed_in(client, finance_user)
    response = post_upload(
        client, django_capture_on_commit_callbacks, new_source="", file=as_upload(file_with_errors())
    )
    assert response.status_code == 422
    assert "Choose a source or name a new one." in response.content.decode()
    nothing_written(private_root)


def test_an_upload_without_a_file_is_refused_with_a_message_and_writes_nothing(
    client, finance_user, django_capture_on_commit_callbacks, private_root
):
    signed_in(client, finance_user)
    response = post_upload(client, django_capture_on_commit_callbacks, file=None)
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    nothing_written(private_root)


def test_an_empty_file_is_refused_with_a_message_and_writes_nothing(
    client, finance_user, django_capture_on_commit_callbacks, private_root
):
    signed_in(client, finance_user)
    response = post_upload(client, django_capture_on_commit_callbacks, file=as_upload(b""))
    assert response.status_code == 422
    assert "The submitted file is empty." in response.content.decode()
    nothing_written(private_root)


def test_an_upload_declared_larger_than_the_limit_is_refused_before_its_body_is_read(
    client, finance_user, private_root
):
    """The test client's body raises if read past its end: with a Content-Length of 300 MB, any
    attempt to read the body (to parse the form, check CSRF, spool the file) would fail the test."""
    signed_in(client, finance_user)
    data = {"new_source": "Huge Re", "kind": "risk", "period": "2026-10", "file": as_upload(file_with_errors())}
    response = client.post(reverse("ingestion:upload"), data, CONTENT_LENGTH=str(300 * 1024 * 1024))
    assert response.status_code == 413
    body = response.content.decode().replace("\xa0", " ")  # sizes are written with non-breaking spaces
    assert "This file is 300.0 MB; bordereaux up to 200.0 MB can be uploaded here." in body
    assert 'data-testid="too-large"' in body
    assert not ImportJob.objects.exists() and not Source.objects.exists()
    nothing_written(private_root)


def test_a_file_above_the_limit_is_refused_by_the_form_and_writes_nothing(
    client, finance_user, django_capture_on_commit_callbacks, private_root, settings
):
    settings.AMPARO_BORDEREAU_MAX_BYTES = 1024
    signed_in(client, finance_user)
    content = file_with_errors()
    response = post_upload(client, django_capture_on_commit_callbacks, file=as_upload(content))
    assert response.status_code == 422
    body = response.content.decode().replace("\xa0", " ")  # sizes are written with non-breaking spaces
    assert f"This file is {len(content) / 1024:.1f} KB; bordereaux up to 1.0 KB can be uploaded here." in body
    assert "Up to 1.0 KB." in body
    nothing_written(private_root)


def test_the_upload_still_requires_its_csrf_token(finance_user, private_root):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(finance_user)
    data = {"new_source": "Forged Re", "kind": "risk", "period": "2026-10", "file": as_upload(file_with_errors())}
    assert client.post(reverse("ingestion:upload"), data).status_code == 403
    assert not ImportJob.objects.exists()
    page = client.get(reverse("ingestion:upload")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data["file"] = as_upload(file_with_errors())
    assert client.post(reverse("ingestion:upload"), {**data, "csrfmiddlewaretoken": token}).status_code == 302


def test_an_upload_with_a_bad_period_is_refused_with_a_message_and_writes_nothing_not_even_the_new_source(
    client, finance_user, django_capture_on_commit_callbacks, private_root
):
    signed_in(client, finance_user)
    response = post_upload(
        client, django_capture_on_commit_callbacks, period="octubre", file=as_upload(file_with_errors())
    )
    assert response.status_code == 422
    assert "Give the period as a month, e.g. 2026-10." in response.content.decode()
    nothing_written(private_root)


@pytest.mark.parametrize("period", ["octubre", "2026-13", "2026", "10/2026", ""])
def test_an_upload_with_a_bad_period_for_an_existing_source_writes_nothing(
    client, finance_user, source, django_capture_on_commit_callbacks, private_root, period
):
    signed_in(client, finance_user)
    response = post_upload(
        client,
        django_capture_on_commit_callbacks,
        source=source.pk,
        new_source="",
        period=period,
        file=as_upload(file_with_errors()),
    )
    assert response.status_code == 422
    message = "This field is required." if not period else "Give the period as a month, e.g. 2026-10."
    assert message in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert stored_files(private_root) == []


def test_a_new_source_named_like_an_existing_one_is_refused(
    client, finance_user, source, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    response = post_upload(
        client, django_capture_on_commit_callbacks, new_source="  reaseguros   ANDINOS s.a. ", file=as_upload(b"x;y\n")
    )
    assert response.status_code == 422
    assert "A source with this name already exists." in response.content.decode()
    assert Source.objects.count() == 1
    assert ImportJob.objects.count() == 0


def test_the_same_file_uploaded_twice_for_a_source_is_refused_naming_the_earlier_job(
    client, finance_user, django_capture_on_commit_callbacks, private_root
):
    signed_in(client, finance_user)
    content = file_with_errors()
    post_upload(client, django_capture_on_commit_callbacks, file=as_upload(content))
    first = ImportJob.objects.get()
    files_before = stored_files(private_root)

    response = post_upload(
        client,
        django_capture_on_commit_callbacks,
        source=first.source.pk,
        new_source="",
        period="2026-11",
        file=as_upload(content, name="renamed-copy.csv"),
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert f"This file was already imported for Reaseguros Andinos S.A. as job #{first.pk} on" in body
    assert ImportJob.objects.count() == 1
    assert RiskRow.objects.count() == 6
    assert stored_files(private_root) == files_before


def test_a_file_that_cannot_be_read_is_reported_at_once_and_not_announced_as_running(
    client, finance_user, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    response = post_upload(client, django_capture_on_commit_callbacks, file=as_upload(b"\x00\x01\x02junk" * 100))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "contains binary data" in job.error
    page = client.get(response["Location"]).content.decode()
    assert "This does not look like a text (CSV) file: it contains binary data." in page
    assert "The import runs in the background." not in page
    assert RiskRow.objects.count() == 0


def test_a_sparse_workbook_is_refused_by_the_layout_detection_of_the_upload_request(
    client, finance_user, django_capture_on_commit_callbacks, tmp_path
):
    """Two cells, A1 and XFD1048576: the request that detects the layout must refuse the workbook
    before calamine would build its grid of 17 billion cells."""
    path = write_workbook(
        tmp_path / "sparse.xlsx",
        sheet_row(1, text_cell("A1", "UMR")) + sheet_row(1048576, number_cell("XFD1048576", 1)),
    )
    signed_in(client, finance_user)
    upload = SimpleUploadedFile("sparse.xlsx", path.read_bytes(), content_type="application/octet-stream")
    response = post_upload(client, django_capture_on_commit_callbacks, file=upload)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "reaches column XFD (16,384 columns); at most 200 columns can be read" in job.error
    page = client.get(response["Location"]).content.decode()
    assert "Delete the columns beyond the data, or save the bordereau as CSV." in page
    assert RiskRow.objects.count() == 0


def test_a_file_whose_columns_are_not_recognised_goes_to_the_mapping_screen(
    client, finance_user, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    response = post_upload(
        client, django_capture_on_commit_callbacks, file=as_upload(risk_file(valid_rows(4), headers=UNUSUAL_HEADERS))
    )
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.MAPPING
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_mapping", args=[job.pk])
    assert RiskRow.objects.count() == 0


# --- the uploaded file ----------------------------------------------------------------------------


@pytest.mark.urls("tests.media_urls")
def test_a_bordereau_is_stored_under_a_random_name_outside_media_and_no_media_url_serves_it(
    client, finance_user, django_capture_on_commit_callbacks, private_root, settings, tmp_path
):
    """Insured names and sums: the file goes under AMPARO_PRIVATE_ROOT, beside MEDIA_ROOT as in the
    default layout (var/media, var/private), and /media/ answers for none of it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "public").mkdir(parents=True)
    (settings.MEDIA_ROOT / "public" / "logo.txt").write_text("public")
    assert client.get("/media/public/logo.txt").status_code == 200  # /media/ does serve MEDIA_ROOT here
    signed_in(client, finance_user)
    post_upload(client, django_capture_on_commit_callbacks, file=as_upload(file_with_errors(), "andinos-octubre.csv"))
    job = ImportJob.objects.get()
    assert stored_files(private_root) == [job.file_path]
    assert re.fullmatch(r"[0-9a-f]{32}\.csv", job.stored_name)
    assert job.file_path.parent.parent == private_root / "bordereaux"
    assert stored_files(settings.MEDIA_ROOT) == [settings.MEDIA_ROOT / "public" / "logo.txt"]
    for path in stored_files(private_root):
        for url in (f"/media/{os.path.relpath(path, settings.MEDIA_ROOT)}", f"/media/{job.stored_name}"):
            response = client.get(url)
            assert response.status_code in (400, 404), url
    assert client.get(reverse("ingestion:job_file", args=[job.pk])).status_code == 200


def test_the_uploaded_file_downloads_as_it_came_under_its_own_name(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_file", args=[imported.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == file_with_errors()
    assert response["Content-Disposition"] == 'attachment; filename="andinos-2026-10.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    page = client.get(reverse("ingestion:job_detail", args=[imported.pk])).content.decode()
    assert reverse("ingestion:job_file", args=[imported.pk]) in page


def test_the_file_of_another_job_or_a_lost_file_is_not_found(client, auditor, imported):
    signed_in(client, auditor)
    assert client.get(reverse("ingestion:job_file", args=[imported.pk + 999])).status_code == 404
    imported.file_path.unlink()
    assert client.get(reverse("ingestion:job_file", args=[imported.pk])).status_code == 404


# --- HTMX partials --------------------------------------------------------------------------------


@pytest.fixture
def two_jobs(imported, mapping_job):
    return imported, mapping_job


def test_the_job_list_answers_an_htmx_filter_with_only_the_results_partial(client, auditor, two_jobs):
    finished, waiting = two_jobs
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_list"), {"status": "MAPPING"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'data-testid="filter-form"' not in body
    assert waiting.original_name in body
    assert finished.original_name not in body

    full = client.get(reverse("ingestion:job_list")).content.decode()
    assert "<html" in full
    assert finished.original_name in full
    assert waiting.original_name in full


def test_the_job_list_shows_an_empty_state_that_says_what_to_do(client, finance_user):
    signed_in(client, finance_user)
    body = client.get(reverse("ingestion:job_list")).content.decode()
    assert 'data-testid="empty-state"' in body
    assert "Upload a risk or claims bordereau" in body


def error_rows_in(body):
    return body.count("<tr") - 1  # minus the header row


def test_the_error_report_answers_an_htmx_filter_with_only_the_matching_errors(client, auditor, imported):
    signed_in(client, auditor)
    url = reverse("ingestion:job_detail", args=[imported.pk])
    response = client.get(url, {"message": "iso 4217"}, headers={**HTMX, "HX-Target": "results"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="job-progress"' not in body
    assert error_rows_in(body) == 2
    assert "ZZZ" in body
    assert "Not a date" not in body

    by_column = client.get(url, {"column": "net premium"}, headers=HTMX).content.decode()
    assert error_rows_in(by_column) == 1
    assert "Should be gross - commission - taxes = 850.00" in by_column

    nothing = client.get(url, {"message": "no such message"}, headers=HTMX).content.decode()
    assert "No errors match these filters." in nothing


def test_the_job_page_lists_every_rejected_row_with_its_number_column_value_and_message(client, auditor, imported):
    signed_in(client, auditor)
    body = client.get(reverse("ingestion:job_detail", args=[imported.pk])).content.decode()
    assert "<html" in body
    assert 'data-testid="error-report"' in body
    errors = list(RowError.objects.filter(job=imported).values_list("row_number", "column", "value", "message"))
    assert [row for row, *_ in errors] == [index + 3 for index in sorted(BAD_ROWS)]
    for (row, column, value, message), index in zip(errors, sorted(BAD_ROWS), strict=True):
        _cells, want_column, want_value, want_message = BAD_ROWS[index]
        assert (row, column, value) == (index + 3, want_column, want_value)
        assert message.startswith(want_message)


def test_the_progress_poll_answers_the_progress_partial_while_the_job_runs(client, auditor, imported):
    ImportJob.objects.filter(pk=imported.pk).update(status=ImportJob.Status.RUNNING, progress=42, rows_total=5000)
    signed_in(client, auditor)
    response = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]),
        {"was_active": "1"},
        headers={**HTMX, "HX-Target": "job-progress"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "HX-Refresh" not in response.headers
    assert "<html" not in body
    assert 'id="job-progress"' in body
    assert 'aria-valuenow="42"' in body
    assert 'hx-trigger="every 1s"' in body
    assert 'data-testid="error-report"' not in body


def test_the_progress_poll_asks_for_a_refresh_once_the_job_it_saw_running_has_ended(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]),
        {"was_active": "1"},
        headers={**HTMX, "HX-Target": "job-progress"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Refresh"] == "true"


def test_a_finished_job_page_does_not_poll_any_more(client, auditor, imported):
    signed_in(client, auditor)
    body = client.get(reverse("ingestion:job_detail", args=[imported.pk])).content.decode()
    assert 'aria-valuenow="100"' in body
    assert "every 1s" not in body
    partial = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]), headers={**HTMX, "HX-Target": "job-progress"}
    )
    assert "HX-Refresh" not in partial.headers
    assert "every 1s" not in partial.content.decode()


def test_a_queued_job_page_polls_its_progress_every_second(client, finance_user, source):
    job = services.import_job_create(
        actor=finance_user,
        source=source,
        kind=Kind.RISK,
        period=date(2026, 10, 1),
        upload=as_upload(file_with_errors()),
        original_name="queued.csv",
        enqueue=False,
    )
    signed_in(client, finance_user)
    body = client.get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert "was_active" in body
    assert 'data-testid="cancel-job"' in body


# --- error report exports -------------------------------------------------------------------------


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def xlsx_workbook(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def read_xlsx(response):
    workbook = xlsx_workbook(response)
    return [["" if value is None else value for value in row] for row in workbook.active.iter_rows(values_only=True)]


def expected_errors(*, message=""):
    rows = RowError.objects.filter(message__icontains=message).order_by("row_number", "id")
    return [[str(row.row_number), row.column, spreadsheet(row.value), row.message] for row in rows]


def spreadsheet(text):
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def test_the_error_csv_holds_every_error_with_formula_cells_neutralised(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "csv"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="amparo-import-{imported.pk}-errors.csv"'
    rows = read_csv(response)
    assert rows[0] == ["Row", "Column", "Value", "Message"]
    assert rows[1:] == expected_errors()
    values = [row[2] for row in rows[1:]]
    assert "'" + HYPERLINK in values
    assert "'-5,00" in values
    assert HYPERLINK not in values


def test_the_error_exports_hold_exactly_the_filtered_errors(client, auditor, imported):
    signed_in(client, auditor)
    csv_rows = read_csv(
        client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "csv"]), {"message": "ISO 4217"})
    )
    assert csv_rows[1:] == expected_errors(message="ISO 4217")
    assert len(csv_rows) == 3

    xlsx_rows = read_xlsx(
        client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "xlsx"]), {"message": "ISO 4217"})
    )
    assert xlsx_rows[0] == ["Row", "Column", "Value", "Message"]
    assert [[str(cell) for cell in row] for row in xlsx_rows[1:]] == expected_errors(message="ISO 4217")


def test_the_error_xlsx_neutralises_formula_cells(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "xlsx"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = xlsx_workbook(response).active
    rows = [["" if cell.value is None else str(cell.value) for cell in row] for row in sheet.iter_rows()]
    assert rows[1:] == expected_errors()
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == []


def test_an_error_xlsx_too_large_for_the_request_is_refused_with_the_filters_kept_and_csv_still_works(
    client, auditor, imported, monkeypatch
):
    monkeypatch.setattr("portal.core.exports.XLSX_MAX_ROWS", 5)
    signed_in(client, auditor)
    url = reverse("ingestion:job_errors_export", args=[imported.pk, "xlsx"])
    assert RowError.objects.filter(job=imported).count() == 6

    response = client.get(url, {"column": "e"})
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[imported.pk]) + "?column=e"
    page = client.get(response["Location"]).content.decode()
    assert "An XLSX download holds at most 5 rows. Narrow the filter, or download CSV, which has no limit." in page

    assert client.get(url, {"message": "ISO 4217"}).status_code == 200  # two errors: within the limit
    csv_rows = read_csv(client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "csv"])))
    assert len(csv_rows) == 1 + 6


def test_the_error_export_links_on_the_job_page_carry_the_filters_in_use(client, auditor, imported):
    signed_in(client, auditor)
    body = client.get(reverse("ingestion:job_detail", args=[imported.pk]), {"message": "currency"}).content.decode()
    assert f"/bordereaux/jobs/{imported.pk}/errors.csv?message=currency" in body
    assert f"/bordereaux/jobs/{imported.pk}/errors.xlsx?message=currency" in body


def test_the_error_export_links_follow_an_htmx_filter(client, auditor, imported):
    """The filter form swaps #results only; the download links must be part of what it swaps, or they
    keep offering the unfiltered report after the person filtered it."""
    signed_in(client, auditor)
    partial = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]),
        {"message": "currency"},
        headers={**HTMX, "HX-Target": "results"},
    ).content.decode()
    assert f"/bordereaux/jobs/{imported.pk}/errors.csv?message=currency" in partial
    assert f"/bordereaux/jobs/{imported.pk}/errors.xlsx?message=currency" in partial


def test_an_error_report_in_an_unknown_format_is_not_found(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_errors_export", args=[imported.pk, "pdf"]))
    assert response.status_code == 404


def test_an_export_of_another_jobs_errors_is_not_found(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_errors_export", args=[imported.pk + 999, "csv"]))
    assert response.status_code == 404


# --- imported rows --------------------------------------------------------------------------------


@pytest.fixture
def two_sources(django_capture_on_commit_callbacks, finance_user):
    """Andinos, October: 6 valid rows (2 per currency/class); Pacífico, November: 3 valid rows."""
    andinos = Source.objects.create(name="Reaseguros Andinos S.A.")
    pacifico = Source.objects.create(name="Pacífico Re")
    with django_capture_on_commit_callbacks(execute=True):
        for source, period, rows in (
            (andinos, date(2026, 10, 1), valid_rows(6)),
            (pacifico, date(2026, 11, 1), valid_rows(3, start=100)),
        ):
            services.import_job_create(
                actor=finance_user,
                source=source,
                kind=Kind.RISK,
                period=period,
                upload=as_upload(risk_file(rows)),
                original_name=f"{source.name}.csv",
            )
    assert RiskRow.objects.count() == 9
    return andinos, pacifico


def totals_by_key(response):
    return {(row["currency"], row["class_of_business"]): row for row in response.context["totals"]}


def test_the_rows_page_shows_totals_per_currency_and_class_of_business(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]))
    assert response.status_code == 200
    totals = totals_by_key(response)
    # rows 0..5 of Andinos: COP/Property = 0, 3; rows 100..102 of Pacífico: 100 -> USD/Marine ...
    assert set(totals) == {("COP", "Property"), ("USD", "Marine"), ("EUR", "Casualty")}
    assert totals[("COP", "Property")]["rows"] == 2 + 1  # rows 0, 3 and 102
    cop = totals[("COP", "Property")]
    assert cop["gross_premium"] == Decimal("1000.00") + Decimal("1003.00") + Decimal("1102.00")
    assert cop["sum_insured"] == Decimal("1000000") + Decimal("1003000") + Decimal("1102000")
    assert cop["net_premium"] == sum(
        (gross * Decimal("0.9") - 50 for gross in (Decimal(1000), Decimal(1003), Decimal(1102))), Decimal(0)
    )
    body = response.content.decode()
    assert 'data-testid="totals"' in body
    assert "3,105.00" in body  # COP / Property gross premium, formatted


def test_the_rows_page_neither_counts_nor_sums_the_bordereau_rows(client, auditor, two_sources):
    """A page of rows and the stored totals: no COUNT(*) and no GROUP BY over millions of rows."""
    signed_in(client, auditor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-10"})
    assert response.status_code == 200
    over_rows = [query["sql"] for query in queries if "ingestion_riskrow" in query["sql"]]
    assert over_rows, "the page lists rows"
    assert not [sql for sql in over_rows if "COUNT(" in sql.upper() or "GROUP BY" in sql.upper()], over_rows
    assert sum(row["rows"] for row in response.context["totals"]) == 6


def test_the_totals_follow_the_currency_and_class_filters(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"currency": "cop", "class_of_business": "prop"})
    assert [(row["currency"], row["class_of_business"], row["rows"]) for row in response.context["totals"]] == [
        ("COP", "Property", 3)
    ]


def test_totals_are_not_shown_while_rows_are_searched_by_umr_and_the_rows_still_are(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"umr": "B0750"})
    assert response.context["totals"] is None
    body = response.content.decode()
    assert 'data-testid="totals-not-shown"' in body
    assert "CERT-00001" in body
    nothing = client.get(reverse("ingestion:rows", args=["risk"]), {"umr": "NO-SUCH-UMR"}).content.decode()
    assert "No rows match." in nothing


def test_the_rows_page_filters_by_source(client, auditor, two_sources):
    _andinos, pacifico = two_sources
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": pacifico.pk})
    assert sum(row["rows"] for row in response.context["totals"]) == 3
    body = response.content.decode()
    assert "CERT-00100" in body
    assert "CERT-00000" not in body


def test_the_rows_page_filters_by_period(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-10"})
    assert sum(row["rows"] for row in response.context["totals"]) == 6
    assert "CERT-00100" not in response.content.decode()
    empty = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2025-01"})
    assert empty.context["totals"] == []
    assert "No rows match." in empty.content.decode()


def test_the_rows_page_answers_an_htmx_filter_with_the_results_partial(client, auditor, two_sources):
    andinos, _pacifico = two_sources
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": andinos.pk}, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="totals"' in body
    assert "CERT-00005" in body


def test_the_rows_export_as_csv_holds_the_filtered_rows(client, finance_user, two_sources):
    andinos, _pacifico = two_sources
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": andinos.pk, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="amparo-risk-bordereau-rows.csv"'
    rows = read_csv(response)
    header = rows[0]
    assert header[:4] == ["source", "period", "UMR", "certificate ref"]
    assert len(rows) == 1 + 6
    assert {row[0] for row in rows[1:]} == {"Reaseguros Andinos S.A."}
    assert sorted(row[header.index("certificate ref")] for row in rows[1:]) == [f"CERT-{n:05d}" for n in range(6)]
    first = next(row for row in rows[1:] if row[3] == "CERT-00000")
    assert first[header.index("gross premium")] == "1000.00"
    assert first[header.index("period")] == "2026-10-01"


def test_the_rows_export_as_xlsx_holds_the_filtered_rows(client, finance_user, two_sources):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-11", "export": "xlsx"})
    assert response.status_code == 200
    rows = read_xlsx(response)
    assert rows[0][:3] == ["source", "period", "UMR"]
    assert len(rows) == 1 + 3
    assert {row[0] for row in rows[1:]} == {"Pacífico Re"}


def test_the_claims_rows_page_opens_empty_with_advice(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["claims"]))
    assert response.status_code == 200
    assert response.context["totals"] == []
    assert ClaimRow.objects.count() == 0
    assert "Import a bordereau or widen the filters." in response.content.decode()


# --- cancel and retry -----------------------------------------------------------------------------


@pytest.fixture
def queued_job(finance_user, source):
    return services.import_job_create(
        actor=finance_user,
        source=source,
        kind=Kind.RISK,
        period=date(2026, 10, 1),
        upload=as_upload(file_with_errors()),
        original_name="queued.csv",
        enqueue=False,
    )


def test_finance_cancels_a_queued_import_and_it_ends_cancelled_with_nothing_loaded(client, finance_user, queued_job):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_cancel", args=[queued_job.pk]), follow=True)
    queued_job.refresh_from_db()
    assert queued_job.status == ImportJob.Status.CANCELLED
    assert queued_job.finished_at is not None
    assert RiskRow.objects.count() == 0
    assert "Cancelling: the import stops at its next step." in response.content.decode()
    assert AuditEvent.objects.filter(action="ingestion.import_cancel_requested", actor=finance_user).exists()


def test_a_cancelled_import_can_be_run_again_and_loads_its_rows(
    client, finance_user, queued_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    client.post(reverse("ingestion:job_cancel", args=[queued_job.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingestion:job_retry", args=[queued_job.pk]))
    assert response.status_code == 302
    queued_job.refresh_from_db()
    assert (queued_job.status, queued_job.rows_loaded, queued_job.rows_rejected) == (
        ImportJob.Status.SUCCEEDED,
        6,
        6,
    )
    assert RiskRow.objects.count() == 6
    assert AuditEvent.objects.filter(action="ingestion.import_retried", actor=finance_user).exists()


def test_cancelling_a_finished_import_says_it_has_already_finished(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_cancel", args=[imported.pk]), follow=True)
    assert "This import has already finished." in response.content.decode()
    imported.refresh_from_db()
    assert imported.status == ImportJob.Status.SUCCEEDED
    assert RiskRow.objects.count() == 6


def test_a_succeeded_import_cannot_be_run_again(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_retry", args=[imported.pk]), follow=True)
    assert (
        "Only a failed or cancelled import, or one whose worker stopped answering, can be run again."
        in response.content.decode()
    )
    imported.refresh_from_db()
    assert imported.status == ImportJob.Status.SUCCEEDED
    assert imported.row_errors.count() == 6


# --- mapping screen -------------------------------------------------------------------------------


def test_the_mapping_screen_offers_the_files_columns_and_preselects_what_it_recognised(
    client, finance_user, mapping_job
):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:job_mapping", args=[mapping_job.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="mapping-form"' in body
    form = response.context["form"]
    assert form["umr"].value() == "UMR"
    assert form["net_premium"].value() == "Net Premium"
    assert [choice for choice, _label in form.fields["certificate_ref"].choices] == ["", *UNUSUAL_HEADERS]


def test_the_mapping_screen_saves_the_mapping_in_the_profile_and_runs_the_import(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[mapping_job.pk])
    mapping_job.refresh_from_db()
    assert (mapping_job.status, mapping_job.rows_loaded, mapping_job.rows_rejected) == (
        ImportJob.Status.SUCCEEDED,
        4,
        0,
    )
    profile = MappingProfile.objects.get(source=mapping_job.source, kind=Kind.RISK)
    for name, header in UNUSUAL_MAPPING.items():
        assert profile.column_map[name] == header
    assert set(RiskRow.objects.values_list("insured_name", flat=True)) == {f"Asegurado {n} S.A.S." for n in range(4)}
    assert AuditEvent.objects.filter(action="ingestion.columns_mapped", target_id=str(mapping_job.pk)).exists()
    assert AuditEvent.objects.filter(action="ingestion.profile_saved", actor=finance_user).exists()
    page = client.get(response["Location"]).content.decode()
    assert "Mapping saved for Reaseguros Andinos S.A.. The import runs now." in page


def test_the_mapping_screen_refuses_a_mapping_that_leaves_a_required_field_empty(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job, insured_name="")
        )
    assert response.status_code == 422
    assert "Choose a column for: Insured Full Name or Company Name" in response.content.decode()
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before
    assert RiskRow.objects.count() == 0


def test_the_mapping_screen_refuses_one_column_for_two_fields(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("ingestion:job_mapping", args=[mapping_job.pk]),
            full_mapping(mapping_job, expiry_date="Desde"),
        )
    assert response.status_code == 422
    assert "Each column of the file can feed one field only." in response.content.decode()
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before


def test_the_mapping_screen_refuses_a_column_that_is_not_in_the_file(client, finance_user, mapping_job):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    response = client.post(
        reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job, insured_name="Hacker")
    )
    assert response.status_code == 422
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before


def test_the_mapping_screen_of_a_job_that_needs_no_mapping_leads_to_the_job_page(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:job_mapping", args=[imported.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[imported.pk])


# --- sources and profiles -------------------------------------------------------------------------


def test_the_sources_page_lists_sources_with_their_profiles_and_edit_links_for_admin_only(
    client, admin_user, auditor, source
):
    MappingProfile.objects.create(source=source, kind=Kind.RISK, all_or_nothing=True)
    signed_in(client, admin_user)
    body = client.get(reverse("ingestion:source_list")).content.decode()
    assert source.name in body
    assert "all or nothing" in body
    assert reverse("ingestion:profile_edit", args=[source.pk, "risk"]) in body

    signed_in(client, auditor)
    body = client.get(reverse("ingestion:source_list")).content.decode()
    assert source.name in body
    assert reverse("ingestion:profile_edit", args=[source.pk, "risk"]) not in body


@pytest.fixture
def profile(source):
    return MappingProfile.objects.create(
        source=source,
        kind=Kind.RISK,
        column_map=dict(UNUSUAL_MAPPING),
        detected={"format": "csv", "encoding": "utf-8", "delimiter": ";", "header_row": 2, "headers": UNUSUAL_HEADERS},
    )


def profile_post(**changes):
    data = {
        "settings-encoding": "cp1252",
        "settings-delimiter": ";",
        "settings-date_format": "%d/%m/%Y",
        "settings-decimal_style": "comma",
        "settings-header_row": "2",
        "settings-all_or_nothing": "on",
    }
    data.update({f"map-{name}": header for name, header in UNUSUAL_MAPPING.items()})
    data.update(changes)
    return data


def test_an_admin_saves_a_profiles_settings_and_mapping_and_it_is_audited(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="profile-form"' in page.content.decode()

    response = client.post(url, profile_post(**{"map-insured_name": "Hasta", "map-expiry_date": "Cliente"}))

    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:source_list")
    profile.refresh_from_db()
    assert (profile.encoding, profile.delimiter, profile.date_format, profile.decimal_style) == (
        "cp1252",
        ";",
        "%d/%m/%Y",
        "comma",
    )
    assert (profile.header_row, profile.all_or_nothing) == (2, True)
    assert profile.column_map["insured_name"] == "Hasta"
    assert profile.column_map["expiry_date"] == "Cliente"
    event = AuditEvent.objects.get(action="ingestion.profile_saved")
    assert event.actor == admin_user
    assert event.target_id == str(profile.pk)
    assert {"encoding", "delimiter", "column_map", "all_or_nothing", "header_row"} <= set(event.metadata["changed"])


def test_an_admin_creates_the_profile_of_a_source_that_has_none(client, admin_user, source):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[source.pk, "claims"])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "settings-encoding": "auto",
            "settings-delimiter": "\t",
            "settings-date_format": "auto",
            "settings-decimal_style": "dot",
        },
    )
    assert response.status_code == 302
    profile = MappingProfile.objects.get(source=source, kind=Kind.CLAIMS)
    assert (profile.delimiter, profile.decimal_style, profile.all_or_nothing) == ("\t", "dot", False)
    assert AuditEvent.objects.filter(action="ingestion.profile_saved", target_id=str(profile.pk)).exists()


def test_a_profile_with_an_unknown_setting_is_refused_with_a_message_and_not_saved(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    response = client.post(url, profile_post(**{"settings-encoding": "ebcdic"}))
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    profile.refresh_from_db()
    assert profile.encoding == "auto"
    assert not AuditEvent.objects.filter(action="ingestion.profile_saved").exists()


def test_the_profile_page_refuses_one_column_for_two_fields(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    response = client.post(url, profile_post(**{"map-expiry_date": "Desde"}))
    assert response.status_code == 422
    assert "Each column of the file can feed one field only." in response.content.decode()
    profile.refresh_from_db()
    assert profile.column_map == UNUSUAL_MAPPING
    assert not AuditEvent.objects.filter(action="ingestion.profile_saved").exists()


def test_the_profile_page_shows_what_was_detected_in_the_sources_last_file(client, admin_user, imported):
    signed_in(client, admin_user)
    response = client.get(reverse("ingestion:profile_edit", args=[imported.source.pk, "risk"]))
    body = response.content.decode()
    assert "Last detected: csv, utf-8, delimiter “;”, header on line 2." in body
    assert [choice for choice, _label in response.context["mapping_form"].fields["umr"].choices] == ["", *RISK_LABELS]


def test_a_profile_of_an_unknown_kind_leads_back_to_the_sources(client, admin_user, source):
    signed_in(client, admin_user)
    response = client.get(reverse("ingestion:profile_edit", args=[source.pk, "life"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:source_list")
    assert MappingProfile.objects.count() == 0
