"""The upload page: the form's refusals, which write nothing, and an accepted file run to its end; where
the uploaded file is kept and how it downloads as it came.

Huey runs in immediate mode here, and the import is queued on commit: wrapping a request in
`django_capture_on_commit_callbacks(execute=True)` runs the whole import inside that request."""

import os
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.ingestion.fields import Kind
from portal.ingestion.models import ImportJob, RiskRow, Source

from ..helpers import (
    UNUSUAL_HEADERS,
    as_upload,
    file_with_errors,
    private_file,
    risk_file,
    signed_in,
    stored_files,
    valid_rows,
)
from ..ingestion_workbooks import number_cell, sheet_row, text_cell, write_workbook


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
    assert stored_files(private_root) == [private_file("bordereaux", job.stored_name)]
    assert re.fullmatch(r"[0-9a-f]{32}\.csv", job.stored_name)
    assert private_file("bordereaux", job.stored_name).parent.parent == private_root / "bordereaux"
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
    private_file("bordereaux", imported.stored_name).unlink()
    assert client.get(reverse("ingestion:job_file", args=[imported.pk])).status_code == 404
