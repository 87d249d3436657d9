"""The error report's CSV and XLSX downloads: the filtered errors, formula cells neutralised, the XLSX
size limit."""

from django.urls import reverse

from portal.ingestion.models import RowError

from ..helpers import HTMX, HYPERLINK, read_csv, read_xlsx, signed_in, xlsx_workbook


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
