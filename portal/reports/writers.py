"""A report's rows written to a file: CSV (streamed row by row, or by PostgreSQL's COPY: csvcopy.py), XLSX
(streamed into the zip: xlsx.py, with typed cells, number formats per currency, a frozen header and totals) and PDF
(WeasyPrint: a cover with the parameters, the totals, a bar chart drawn as SVG on the server, the
rows, and "page N of M"). Text cells are neutralised against formula injection as in every export.

Totals are per currency: each money column with `total` summed over the rows of that currency, and
each ratio column (`ratio_of`) the ratio of two of those sums.
"""

import csv
from collections import defaultdict
from datetime import date
from decimal import Decimal
from html import escape

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from weasyprint import HTML

from portal.core.exports import FORMULA_STARTS
from portal.policies.documents import COMPANY, LOGO, STATIC_DIR, LocalStaticFetcher, page_counter_css

from . import xlsx
from .catalogue import DATE, DATETIME, INT, MONEY, MONTH, PERCENT, RATIO_QUANTUM, TEXT
from .csvcopy import copy_possible, write_csv_copy
from .xlsxcopy import write_xlsx_copy

PROGRESS_EVERY = 2000
# A PDF is for reading: past this many rows it shows the totals and says to download CSV or XLSX.
PDF_MAX_ROWS = 2000
CHART_BARS = 12


class Totals:
    """Sums of the report's total columns per currency, collected while the rows go by, and the ratios
    of those sums for the columns that are a ratio of two of them."""

    def __init__(self, report):
        self.report = report
        self.indexes = [index for index, column in enumerate(report.columns) if column.total]
        self.currency_index = report.column_index(report.currency_column) if report.currency_column else None
        self.sums = defaultdict(lambda: [0] * len(self.indexes))
        position_of = {report.columns[index].key: position for position, index in enumerate(self.indexes)}
        self.ratios = [
            (index, position_of[column.ratio_of[0]], position_of[column.ratio_of[1]])
            for index, column in enumerate(report.columns)
            if column.ratio_of
        ]

    def add(self, row):
        if not self.indexes:
            return
        currency = row[self.currency_index] if self.currency_index is not None else ""
        sums = self.sums[currency]
        for position, index in enumerate(self.indexes):
            if row[index] is not None:
                sums[position] += row[index]

    def rows(self):
        """One row per currency, shaped like the report's rows: the sums in their columns, blanks elsewhere."""
        if not self.indexes:
            return []
        lines = []
        for currency in sorted(self.sums):
            line = [None] * len(self.report.columns)
            line[0] = _("Total")
            if self.currency_index is not None:
                line[self.currency_index] = currency
            sums = self.sums[currency]
            for position, index in enumerate(self.indexes):
                line[index] = sums[position]
            for index, numerator, denominator in self.ratios:
                if sums[denominator] > 0:
                    line[index] = (Decimal(sums[numerator]) / Decimal(sums[denominator])).quantize(RATIO_QUANTUM)
            lines.append(line)
        return lines


def _tick(progress, count):
    if progress is not None and count % PROGRESS_EVERY == 0:
        progress(count)


def _local(value):
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _text(value):
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_converters(report):
    """One function per column turning its values into CSV text, chosen once from the column's type
    rather than worked out cell by cell (a million rows pass through here)."""
    zone = timezone.get_current_timezone()
    by_kind = {
        TEXT: _text,
        DATETIME: lambda value: value.astimezone(zone).isoformat(timespec="seconds"),
        DATE: date.isoformat,
        MONTH: date.isoformat,
    }
    return [by_kind.get(column.kind, str) for column in report.columns]


def write_csv(report, rows, path, *, progress=None):
    """Rows as UTF-8 CSV with a BOM (spreadsheets read the accents), dates ISO, amounts with a point.
    No totals lines: a CSV is read by programs, which add up what they need."""
    totals = Totals(report)
    converters = _csv_converters(report)
    count = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([str(column.label) for column in report.columns])
        for row in rows:
            writer.writerow(
                ["" if value is None else convert(value) for convert, value in zip(converters, row, strict=True)]
            )
            totals.add(row)
            count += 1
            _tick(progress, count)
    return count, totals


def write_xlsx(report, rows, path, *, progress=None):
    totals = Totals(report)
    count = xlsx.write_xlsx(report, rows, path, totals=totals, progress=progress, every=PROGRESS_EVERY)
    return count, totals


def display(kind, value, currency=""):
    """A value as the PDF shows it, in the active language's number and date formats."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if kind == MONEY:
        return f"{currency} {number_format(value, decimal_pos=2, force_grouping=True)}".strip()
    if kind == INT:
        return number_format(value, force_grouping=True)
    if kind == PERCENT:
        return f"{number_format(value * 100, decimal_pos=2)} %"
    if kind == MONTH:
        return value.strftime("%Y-%m")
    if kind == DATETIME:
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if kind == DATE:
        return value.isoformat()
    return str(value)


def chart_svg(report, rows):
    """A horizontal bar chart of the report's chart column summed by its label column (the largest
    CHART_BARS), as inline SVG; None when the report has no chart or nothing to draw."""
    if not report.chart or not rows:
        return None
    label_index, value_index = (report.column_index(key) for key in report.chart)
    currency_index = report.column_index(report.currency_column) if report.currency_column else None
    sums = defaultdict(Decimal)
    for row in rows:
        if row[value_index] is not None:
            # Amounts of different currencies never share a bar.
            label = (
                f"{row[label_index]} ({row[currency_index]})" if currency_index is not None else str(row[label_index])
            )
            sums[label] += Decimal(row[value_index])
    bars = sorted(sums.items(), key=lambda item: item[1], reverse=True)[:CHART_BARS]
    top = max((value for _label, value in bars), default=0)
    if top <= 0:
        return None
    kind = report.columns[value_index].kind
    width, label_width, bar_height = 520, 170, 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{len(bars) * (bar_height + 6) + 4}" '
        f'role="img" aria-label="{escape(str(report.columns[value_index].label))}">'
    ]
    for position, (label, value) in enumerate(bars):
        y = position * (bar_height + 6) + 2
        length = max(1, int((width - label_width - 110) * float(value / top))) if value > 0 else 1
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end" font-size="8">{escape(label[:34])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" fill="#0b4f8a"/>'
            f'<text x="{label_width + length + 4}" y="{y + 12}" font-size="8">{escape(display(kind, value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def write_pdf(report, rows, path, *, parameters, requested_by, progress=None):
    totals = Totals(report)
    shown = []
    count = 0
    for row in rows:
        totals.add(row)
        if count < PDF_MAX_ROWS:
            shown.append(row)
        count += 1
        _tick(progress, count)
    kinds = [column.kind for column in report.columns]
    currency_index = report.column_index(report.currency_column) if report.currency_column else None

    def cells(row):
        currency = row[currency_index] if currency_index is not None else ""
        return [
            {"text": display(kind, value, currency), "number": kind in (MONEY, INT, PERCENT)}
            for kind, value in zip(kinds, row, strict=True)
        ]

    total_lines = [cells(line) for line in totals.rows()]
    # The cover's summary: the label, the currency and the summed and ratio columns only.
    kept = [
        index
        for index, column in enumerate(report.columns)
        if index == 0 or column.total or column.ratio_of or column.key == report.currency_column
    ]
    html = render_to_string(
        "reports/report_document.html",
        {
            "report": report,
            "language": translation.get_language(),
            "company": COMPANY,
            "logo_url": LOGO,
            "page_counter": page_counter_css(),
            "generated_at": timezone.localtime(),
            "requested_by": requested_by,
            # In the definition's order: the stored parameters come back in jsonb's key order ("to" first).
            "parameters": [
                (param.label, parameters[param.name]) for param in report.params if param.name in parameters
            ],
            "columns": report.columns,
            "rows": [cells(row) for row in shown],
            "totals": total_lines,
            "summary_columns": [report.columns[index] for index in kept],
            "summary": [[line[index] for index in kept] for line in total_lines],
            "row_count": count,
            "cut": count > PDF_MAX_ROWS,
            "pdf_max_rows": PDF_MAX_ROWS,
            "chart": chart_svg(report, shown if count <= PDF_MAX_ROWS else None),
        },
    )
    HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalStaticFetcher()).write_pdf(path)
    return count, totals


def write(report, fmt, rows, path, *, parameters, requested_by, progress=None, query=None):
    """`rows` in `fmt` at `path`; (row count, Totals). A CSV of a report whose source gave its `query`
    is written by PostgreSQL's COPY (the same bytes, several times faster), and so are an XLSX's rows
    (xlsxcopy.py: the same cells); on SQLite, or without a query, Python writes them."""
    if fmt == "csv" and copy_possible(query):
        totals = Totals(report)
        count = write_csv_copy(report, query, path, totals=totals, progress=progress)
        return count, totals
    if fmt == "csv":
        return write_csv(report, rows, path, progress=progress)
    if fmt == "xlsx" and copy_possible(query):
        totals = Totals(report)
        count = write_xlsx_copy(report, query, path, totals=totals, progress=progress)
        return count, totals
    if fmt == "xlsx":
        return write_xlsx(report, rows, path, progress=progress)
    return write_pdf(report, rows, path, parameters=parameters, requested_by=requested_by, progress=progress)
