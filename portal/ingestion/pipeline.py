"""The import pipeline, set-based: the order of its steps, run over a job's working tables (`engine`).

1. Copy the raw text of each data row into a working table. On PostgreSQL a CSV file's bytes go
   to COPY as they are, a megabyte at a time; Python only checks that COPY will split each chunk
   as Python's strict reader would, and parses and rewrites the few chunks it might not. Blank
   and totals rows are dropped in SQL. Anything Python cannot read sends the whole file through
   the Python reader instead, for its exact message; so do XLSX and UTF-16 files, and SQLite
   (batched inserts there). That reader skips blank and totals rows itself.
2. Validate in SQL: fields whose values repeat (dates, codes, choices, percentages) are parsed
   once per distinct value by the Python parsers in `parsing` and joined back; amounts and texts
   are checked by SQL expressions (on SQLite by the Python parsers, registered as functions).
   Row errors, cross-field rules (`rules`) and duplicate keys are all written by a few
   INSERT ... SELECTs.
3. Upsert the good rows by natural key, in the same transaction as the errors. On PostgreSQL the
   typed rows of a first import of a source and period become that bordereau's partition
   instead (see `partitions`). The bordereau's totals, which the rows page shows, are written in
   that transaction too (see `totals`).

Nothing reaches the bordereau tables before that last transaction, so a worker that dies
half-way leaves nothing behind and the job can simply be run again.
"""

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _

from . import totals
from .concurrently import beside
from .detect import detect_layout, missing_required
from .engine import CHUNK_ROWS, Batch
from .models import ImportJob
from .readers import CsvRows, UnreadableFile, XlsxRows, binary_data_error, first_sheet, is_totals
from .storage import bordereau_local_copy


class JobCancelled(Exception):
    pass


@dataclass
class Outcome:
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    seconds: float


def open_rows(path, layout, size):
    if layout.format == "xlsx":
        return XlsxRows(path)
    return CsvRows(path, encoding=layout.encoding, delimiter=layout.delimiter, size=size)


def run_import(job, *, profile, on_progress):
    """Import `job`'s file. `on_progress(rows_read, rows_rejected, fraction)` may raise JobCancelled."""
    started = time.perf_counter()
    with bordereau_local_copy(job.stored_name) as path:
        return _run_import(job, path, profile, on_progress, started)


def _run_import(job, path, profile, on_progress, started):
    layout = detect_layout(
        path, job.kind, profile=profile, original_name=job.original_name, whole_file_is_utf8=job.layout.get("utf8")
    )
    missing = missing_required(layout, job.kind)
    if missing:
        raise UnreadableFile(
            _("Missing required columns: %(columns)s. Map them in the source's profile.")
            % {"columns": ", ".join(spec.label for spec in missing)}
        )
    ImportJob.objects.filter(pk=job.pk).update(layout=layout.as_dict())
    batch = Batch(job.kind, job.pk, layout)
    rows = open_rows(path, layout, job.size_bytes)
    try:
        streamable = isinstance(rows, CsvRows) and rows.copy_encoding and connection.vendor == "postgresql"
        rows_read = batch.stream(rows, layout.header_row, on_progress) if streamable else None
        if rows_read is None:
            batch.create()
            rows_read = _read(batch, rows, layout, on_progress)
        # Only working tables so far: no transaction yet, so a cancel is not kept waiting on the job.
        batch.build_lookups()
        on_progress(rows_read, 0, 1.0)
        rows_total = batch.build_typed(job)
        on_progress(rows_total, 0, 1.0)
        with beside(batch.find_duplicates) as duplicates_found:
            rows_loaded, rows_rejected = _write_errors_and_load(job, batch, profile, duplicates_found)
    finally:
        batch.drop()
        first_sheet.cache_clear()
    return Outcome(rows_total, rows_loaded, rows_rejected, round(time.perf_counter() - started, 3))


def _read(batch, rows, layout, on_progress):
    """Read the rows in Python into the raw table, leaving out blank and totals rows."""
    positions, width = batch.positions, batch.width
    rows_read = 0
    pending = []
    for line_number, cells in enumerate(rows, start=1):
        # The hot loop: keep it to plain indexing; all checks happen in SQL afterwards.
        if line_number <= layout.header_row:
            continue
        joined = "".join(cells)
        if not joined.strip() or is_totals(cells):
            continue
        if "\x00" in joined:
            raise binary_data_error(line_number)
        rows_read += 1
        count = len(cells)
        extra = 1 if count > width and "".join(cells[width:]).strip() else 0
        pending.append((line_number, extra, *[cells[p] if p < count else "" for p in positions]))
        if len(pending) == CHUNK_ROWS:
            batch.write(pending)
            pending = []
            on_progress(rows_read, 0, rows.position)
    batch.write(pending)
    on_progress(rows_read, 0, 1.0)
    return rows_read


@transaction.atomic
def _write_errors_and_load(job, batch, profile, duplicates_found):
    ImportJob.objects.select_for_update().filter(pk=job.pk).exists()
    batch.write_errors()
    # If these rows are to be the whole bordereau, their totals are summed here while the duplicate
    # keys are looked for beside; the rows that repeat a key are taken off once they are known.
    good = batch.good_row_totals() if batch.may_become_its_bordereau(job) else None
    duplicates_found()
    batch.write_duplicate_errors()
    rows_rejected = job.row_errors.values("row_number").distinct().count()
    if rows_rejected and profile is not None and profile.all_or_nothing:
        return 0, rows_rejected
    if good is not None:
        good = totals.less(good, batch.repeated_row_totals())
    rows_loaded = batch.upsert(job)
    lines = good if batch.attached and good is not None else batch.bordereau_totals(job)
    totals.store(job.kind, job.source_id, job.period, lines)
    return rows_loaded, rows_rejected


def batch_type(job, batch):
    """Steps 2's working tables for rows already staged in `batch` by another reader (a web-service
    run, see sources.sync): lookups, typed rows and repeated keys. Returns the number of rows."""
    batch.build_lookups()
    rows = batch.build_typed(job)
    batch.find_duplicates()
    return rows


def batch_load(job, batch, profile):
    """Step 3 for a typed batch, in the caller's transaction: (rows loaded, rows rejected)."""
    return _write_errors_and_load(job, batch, profile, lambda: None)
