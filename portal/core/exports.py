"""Downloads: tabular data as CSV (streamed) or XLSX (written to a temporary file first), and documents.

Both tabular formats neutralise cells that a spreadsheet would run as a formula (CSV/formula injection).
Every download names its file through `content_disposition_header`, so a name built from what people
typed (an ID number, a file's original name) can never add or rename a header parameter.
"""

import csv
import tempfile

from django.contrib import messages
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A workbook is built whole before it is sent: past this many rows it would outlast the request.
XLSX_MAX_ROWS = 100_000


def spreadsheet_safe(value):
    """Text that a spreadsheet will show, never evaluate. Numbers pass through unchanged."""
    if value is None:
        return ""
    if isinstance(value, int | float) or hasattr(value, "as_tuple"):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def _csv_lines(header, rows):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(value) for value in row])


def csv_download(filename, header, rows):
    response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{filename}.csv")
    return response


def pdf_download(content, filename):
    """A PDF document (bytes) as an attachment named `filename`."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def xlsx_download(filename, header, rows):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append([spreadsheet_safe(value) for value in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def xlsx_refusal(request, rows, *, back):
    """None when an XLSX of `rows` (a queryset) can be built in the request; otherwise a redirect to
    `back` with a message that says how to get the data. CSV streams, so it has no such limit."""
    if rows[: XLSX_MAX_ROWS + 1].count() <= XLSX_MAX_ROWS:
        return None
    messages.error(
        request,
        _("An XLSX download holds at most %(limit)s rows. Narrow the filter, or download CSV, which has no limit.")
        % {"limit": number_format(XLSX_MAX_ROWS, force_grouping=True)},
    )
    return redirect(back)


def list_without_export(request):
    """The list page the user was on, with its filters and without the export parameter."""
    query = request.GET.copy()
    query.pop("export", None)
    return f"{request.path}?{query.urlencode()}"
