"""The import pipeline: stream the file, validate each row in Python, stage the good rows in a
temporary table (PostgreSQL COPY, or batched inserts on SQLite), then find duplicate keys and
upsert by natural key with set-based SQL in one transaction.

Nothing reaches the bordereau tables before that last transaction, so a worker that dies
half-way leaves nothing behind and the job can simply be run again.

The SQL here is assembled from table and column names of our own models and field definitions,
never from file contents; every value travels as a query parameter or through COPY.
"""

import csv
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import parsing
from .detect import detect_layout, missing_required
from .fields import FIELDS, NATURAL_KEYS, Kind
from .models import ClaimRow, ImportJob, RiskRow
from .readers import CsvRows, UnreadableFile, XlsxRows

CHUNK_ROWS = 50_000
NET_TOLERANCE = Decimal("0.01")
NET_TOLERANCE_RATE = Decimal("0.0005")
TOTALS_WORDS = frozenset({"total", "totals", "grand total", "sub total", "subtotal", "total general", "totales"})
ROW_MODELS = {Kind.RISK: RiskRow, Kind.CLAIMS: ClaimRow}


class JobCancelled(Exception):
    pass


@dataclass
class Outcome:
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    seconds: float


def _cell(cells, position):
    return cells[position] if position < len(cells) else ""


class RowValidator:
    """Checks one row against the fields of its kind; returns (values, errors)."""

    def __init__(self, kind, layout):
        self.kind = kind
        self.width = len(layout.headers)
        self.plan = []
        for spec in FIELDS[kind]:
            position = layout.columns.get(spec.name)
            self.plan.append((spec, position, self._parser(spec, layout)))

    @staticmethod
    def _parser(spec, layout):
        if spec.type == "date":
            return lambda raw: parsing.parse_date(raw, layout.date_format)
        if spec.type == "amount":
            return lambda raw: parsing.parse_amount(raw, layout.decimal_style)
        if spec.type == "percent":
            return lambda raw: parsing.parse_percent(raw, layout.decimal_style)
        if spec.type == "currency":
            return parsing.parse_currency
        if spec.type == "country":
            return parsing.parse_country
        if spec.type == "choice":
            choices = tuple(spec.choices.items())
            return lambda raw: parsing.parse_choice(raw, choices)
        return lambda raw: parsing.parse_text(raw, spec.max_length)

    def __call__(self, cells):
        values, errors = {}, []
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width :]):
            errors.append(
                (
                    "",
                    "",
                    _("This row has %(cells)d cells but the header has %(width)d")
                    % {"cells": len(cells), "width": self.width},
                )
            )
        for spec, position, parse in self.plan:
            raw = "" if position is None else _cell(cells, position)
            value, error = parse(raw)
            if error is None and value is None and spec.required:
                error = parsing.MSG_REQUIRED
            if error is not None:
                errors.append((spec.label, raw, str(error)))
            values[spec.name] = value
        if not errors:
            errors.extend(self.cross_field_errors(values))
        return values, errors

    def cross_field_errors(self, values):
        if self.kind == Kind.RISK:
            values["total_taxes"] = values["total_taxes"] or Decimal(0)
            if values["expiry_date"] <= values["inception_date"]:
                yield ("Risk Expiry Date", values["expiry_date"].isoformat(), _("Must be after the inception date"))
            gross = values["gross_premium"]
            expected = gross - gross * values["commission_pct"] / 100 - values["total_taxes"]
            if abs(values["net_premium"] - expected) > max(NET_TOLERANCE, gross * NET_TOLERANCE_RATE):
                yield (
                    "Net Premium",
                    str(values["net_premium"]),
                    _("Should be gross - commission - taxes = %(expected)s") % {"expected": f"{expected:.2f}"},
                )
        else:
            for name in ("paid_indemnity", "paid_fees", "previously_paid", "reserve_indemnity", "reserve_fees"):
                values[name] = values[name] or Decimal(0)
            for name in ("umr", "certificate_ref", "cause_of_loss"):
                values[name] = values[name] or ""
            if values["date_of_loss"] > date.today():
                yield ("Date of Loss", values["date_of_loss"].isoformat(), _("Is in the future"))
            advised = values["date_first_advised"]
            if advised is not None and advised < values["date_of_loss"]:
                yield ("Date Claim First Advised", advised.isoformat(), _("Is before the date of loss"))
            parts = sum(
                values[name]
                for name in ("paid_indemnity", "paid_fees", "previously_paid", "reserve_indemnity", "reserve_fees")
            )
            if abs(values["total_incurred"] - parts) > max(NET_TOLERANCE, parts * NET_TOLERANCE_RATE):
                yield (
                    "Total Incurred",
                    str(values["total_incurred"]),
                    _("Should be paid + previously paid + reserves = %(expected)s") % {"expected": f"{parts:.2f}"},
                )


def _is_blank(cells):
    return not any(cell.strip() for cell in cells)


def _is_totals(cells):
    return any(" ".join(cell.strip().lower().rstrip(":").split()) in TOTALS_WORDS for cell in cells[:3])


class Stage:
    """A temporary table holding the validated rows of one job until the final upsert."""

    def __init__(self, kind, job_id):
        self.kind = kind
        self.table = f"ingestion_stage_{job_id}"
        self.columns = ["row_number", *(spec.name for spec in FIELDS[kind])]
        self.model = ROW_MODELS[kind]

    def _column_type(self, name):
        if name == "row_number":
            return "integer"
        return self.model._meta.get_field(name).db_type(connection)

    def create(self):
        definitions = ", ".join(f"{name} {self._column_type(name)}" for name in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({definitions})")

    def drop(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def write(self, rows):
        """Append rows (tuples in `columns` order) in one statement."""
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})",
                    [tuple(_sqlite_value(value) for value in row) for row in rows],
                )


def _sqlite_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class ErrorSpool:
    """Row errors, kept on disk so a file full of bad rows does not fill memory."""

    def __init__(self):
        self.file = tempfile.TemporaryFile("w+", newline="", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.writer = csv.writer(self.file)
        self.rows_rejected = 0

    def add(self, row_number, errors):
        self.rows_rejected += 1
        for column, value, message in errors:
            self.writer.writerow([row_number, column[:120], str(value)[:255], message[:255]])

    def rows(self):
        self.file.seek(0)
        for row_number, column, value, message in csv.reader(self.file):
            yield int(row_number), column, value, message

    def close(self):
        self.file.close()


def open_rows(path, layout, size):
    if layout.format == "xlsx":
        return XlsxRows(path)
    return CsvRows(path, encoding=layout.encoding, delimiter=layout.delimiter, size=size)


def run_import(job, *, profile, on_progress):
    """Import `job`'s file. `on_progress(rows_read, rows_rejected, fraction)` may raise JobCancelled."""
    started = time.perf_counter()
    path = job.file.path
    layout = detect_layout(path, job.kind, profile=profile, original_name=job.original_name)
    missing = missing_required(layout, job.kind)
    if missing:
        raise UnreadableFile(
            _("Missing required columns: %(columns)s. Map them in the source's profile.")
            % {"columns": ", ".join(spec.label for spec in missing)}
        )
    ImportJob.objects.filter(pk=job.pk).update(layout=layout.as_dict())
    validate = RowValidator(job.kind, layout)
    names = [spec.name for spec in FIELDS[job.kind]]
    stage = Stage(job.kind, job.pk)
    spool = ErrorSpool()
    rows = open_rows(path, layout, job.size_bytes)
    rows_total = 0
    try:
        stage.create()
        batch = []
        for line_number, cells in enumerate(rows, start=1):
            if line_number <= layout.header_row or _is_blank(cells) or _is_totals(cells):
                continue
            rows_total += 1
            values, errors = validate(cells)
            if errors:
                spool.add(line_number, errors)
            else:
                batch.append((line_number, *(values[name] for name in names)))
            if rows_total % CHUNK_ROWS == 0:
                stage.write(batch)
                batch = []
                on_progress(rows_total, spool.rows_rejected, rows.position)
        stage.write(batch)
        on_progress(rows_total, spool.rows_rejected, 1.0)
        rows_loaded, rows_rejected = _finish(job, stage, spool, profile, rows_total)
    finally:
        spool.close()
        stage.drop()
    return Outcome(rows_total, rows_loaded, rows_rejected, round(time.perf_counter() - started, 3))


@transaction.atomic
def _finish(job, stage, spool, profile, rows_total):
    duplicates = _reject_duplicates(job, stage)
    rows_rejected = spool.rows_rejected + duplicates
    _write_errors(job, spool)
    if rows_rejected and profile is not None and profile.all_or_nothing:
        return 0, rows_rejected
    return _upsert(job, stage), rows_rejected


def _reject_duplicates(job, stage):
    """Keep the first row of each natural key in the file; reject the others, saying which row won."""
    key = ", ".join(NATURAL_KEYS[job.kind])
    labels = " + ".join(spec.label for spec in FIELDS[job.kind] if spec.name in NATURAL_KEYS[job.kind])
    later_rows = (
        f"SELECT row_number, first_row FROM (SELECT row_number, MIN(row_number) OVER (PARTITION BY {key}) AS first_row "
        f"FROM {stage.table}) ranked WHERE row_number <> first_row"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO ingestion_rowerror (job_id, row_number, "column", value, message)
            SELECT %s, row_number, %s, '', CAST(%s AS TEXT) || CAST(first_row AS TEXT) FROM ({later_rows}) later""",
            [job.pk, labels[:120], _("Same key as row") + " "],
        )
        duplicates = cursor.rowcount
        if duplicates:
            cursor.execute(
                f"DELETE FROM {stage.table} WHERE row_number IN (SELECT row_number FROM ({later_rows}) later)"
            )
    return duplicates


def _write_errors(job, spool):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(
                'COPY ingestion_rowerror (job_id, row_number, "column", value, message) FROM STDIN'
            ) as copy:
                for row in spool.rows():
                    copy.write_row((job.pk, *row))
        else:
            batch = []
            for row in spool.rows():
                batch.append((job.pk, *row))
                if len(batch) >= 5000:
                    _insert_errors(cursor, batch)
                    batch = []
            _insert_errors(cursor, batch)


def _insert_errors(cursor, batch):
    if batch:
        cursor.executemany(
            'INSERT INTO ingestion_rowerror (job_id, row_number, "column", value, message) VALUES (%s, %s, %s, %s, %s)',
            batch,
        )


def _upsert(job, stage):
    model = stage.model
    fields = [spec.name for spec in FIELDS[job.kind]]
    key = ["source_id", *NATURAL_KEYS[job.kind], "period"]
    target = ["source_id", "period", "job_id", "row_number", "updated_at", *fields]
    updates = ", ".join(f"{column} = excluded.{column}" for column in target if column not in key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {model._meta.db_table} ({", ".join(target)})
            SELECT %s, %s, %s, row_number, %s, {", ".join(fields)} FROM {stage.table} WHERE true
            ON CONFLICT ({", ".join(key)}) DO UPDATE SET {updates}
            """,
            [job.source_id, job.period, job.pk, timezone.now()],
        )
        return cursor.rowcount
