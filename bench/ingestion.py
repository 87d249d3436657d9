"""Bordereau ingestion: ours end to end vs PostgreSQL's raw COPY and django-import-export, on the
same generated risk bordereau, in one run.

    python -m bench ingestion [--rows N] [--seed S] [--bad-rate F] [--peer-rows N] [--xlsx-rows N] [--shape crs]

- The file: a messy CSV risk bordereau of --rows rows (default 1,000,000) written by
  `portal.ingestion.samples.generator` with about 1 % bad rows; cached under var/bench/ingestion/, keyed
  by rows, seed, bad rate and the generator's source, so later runs reuse it.
- ours: `manage.py import_bordereau` as a child process (new source each run, bench settings),
  wall time from start to exit (interpreter and Django start-up, hashing and storing the file,
  detection, validation, upsert), peak RSS of the child sampled with psutil.
- copy: psycopg COPY of the same file's data lines (title rows, header, blank lines and totals
  row left out: COPY would refuse them) into a bare table of text columns. No validation, no
  typing, no upsert: the ceiling.
- import_export: django-import-export's ModelResource importing the first --peer-rows good rows
  (default 5,000; it is slow) into RiskRow by natural key, values already parsed for it (its own
  widgets do not read "1.234,56" or dd/mm/yyyy); rows/s extrapolated.
- xlsx: an XLSX risk bordereau of --xlsx-rows rows (default 100,000) through import_bordereau.
- with --shape crs, also a file of the Coverholder Reporting Standards' shape (`samples/crs.py`:
  the standard's headers with abbreviations in brackets, OP/AP/RP with return premiums sent
  positive and negative, New/Renewal in its own column, `;`, Windows-1252, 1.234,56) of --rows
  rows: ours and the raw COPY of that same file, printed beside the messy file's figures.

Each run rebuilds the bordereau tables of the benchmark database (its own database) from the
migrations, so the figures do not drift with earlier runs. Progress goes to stderr; stdout gets one JSON line.
"""

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psutil
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from portal.ingestion import parsing
from portal.ingestion.detect import detect_layout
from portal.ingestion.fields import (
    ADDITIONAL,
    BY_SIGN,
    FIELDS,
    LEGACY_TRANSACTION_TYPES,
    NATURAL_KEYS,
    RETURN,
    RETURN_TYPES,
    Kind,
)
from portal.ingestion.models import ImportJob, RiskRow, Source
from portal.ingestion.readers import CsvRows
from portal.ingestion.samples import crs, generator

from .common import emit, ensure_database

WORK = Path(settings.BASE_DIR) / "var" / "bench" / "ingestion"
PERIOD = "2026-10"
# COPY refuses a row with more cells than the table has columns; ours rejects it with a message.
COPY_SAFE_REASONS = [reason for reason in generator.RISK_REASONS if reason != "extra_cell"]
TARGETS = {"ours_rows_per_s": 100_000, "peak_rss_mb": 300, "xlsx_rows_per_s": 20_000}


def say(message):
    print(f"[bench ingestion] {message}", file=sys.stderr, flush=True)


def bench_file(rows, seed, bad_rate, fmt):
    """The generated file and its summary, made once and reused while the generator is unchanged."""
    version = hashlib.sha256(Path(generator.__file__).read_bytes()).hexdigest()[:8]
    stem = f"risk-{rows}-s{seed}-b{bad_rate:g}-g{version}"
    path, meta = WORK / f"{stem}.{fmt}", WORK / f"{stem}.{fmt}.json"
    if path.exists() and meta.exists():
        summary = json.loads(meta.read_text())
        summary["cached"] = True
        return path, summary
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob(f"risk-{rows}-s{seed}-b{bad_rate:g}-g*.{fmt}*"):
        old.unlink()
    say(f"generating {rows:,} rows of {fmt.upper()} into {path}")
    summary = generator.generate(
        path,
        rows=rows,
        kind=Kind.RISK,
        fmt=fmt,
        seed=seed,
        bad_rate=bad_rate,
        choices={"reasons": COPY_SAFE_REASONS},
    )
    meta.write_text(json.dumps(summary))
    summary["cached"] = False
    return path, summary


def crs_bench_file(rows, seed, bad_rate):
    """The file of the standard's shape and its summary, cached like `bench_file`."""
    version = hashlib.sha256(Path(crs.__file__).read_bytes()).hexdigest()[:8]
    stem = f"crs-{rows}-s{seed}-b{bad_rate:g}-g{version}"
    path, meta = WORK / f"{stem}.csv", WORK / f"{stem}.csv.json"
    if path.exists() and meta.exists():
        return path, {**json.loads(meta.read_text()), "cached": True}
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob(f"crs-{rows}-s{seed}-b{bad_rate:g}-g*.csv*"):
        old.unlink()
    say(f"generating {rows:,} rows of the standard's shape into {path}")
    summary = crs.generate_crs(path, rows=rows, seed=seed, bad_rate=bad_rate)
    meta.write_text(json.dumps(summary))
    return path, {**summary, "cached": False}


def reset_tables():
    """Rebuild the bordereau tables of the benchmark database (only those, only that database)
    from the migrations: each run starts empty, and a migration edited in place while the
    ingestion app is young cannot leave this database behind the code."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith("ingestion_"):
                cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ingestion'")
    call_command("migrate", "ingestion", verbosity=0, interactive=False)


def run_ours(path, label):
    """import_bordereau in a child process: wall seconds, peak RSS (MB) and its JSON line."""
    private = WORK / "private"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "AMPARO_PRIVATE_ROOT": str(private)}
    command = [
        sys.executable,
        "manage.py",
        "import_bordereau",
        str(path),
        "--source",
        f"bench-{label}-{time.strftime('%Y%m%d%H%M%S')}",
        "--kind",
        Kind.RISK,
        "--period",
        PERIOD,
    ]
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    shutil.rmtree(private, ignore_errors=True)  # the stored copy of the file
    if child.returncode != 0:
        raise SystemExit(f"import_bordereau failed ({child.returncode}):\n{stderr[-3000:]}")
    # Linux reports ru_maxrss in KiB; it is the largest child so far, so it checks the sampling.
    children_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result = json.loads(stdout.strip().splitlines()[-1])
    return seconds, max(peak, children_max if label == "csv" else 0) / 2**20, result


def data_byte_range(path, header_line):
    """Where the data lines start (after titles and header) and end (before the totals row)."""
    with open(path, "rb") as handle:
        for _ in range(header_line):
            handle.readline()
        start = handle.tell()
        size = handle.seek(0, os.SEEK_END)
        tail_start = max(start, size - 65536)
        handle.seek(tail_start)
        tail = handle.read()
    body = tail.rstrip(b"\r\n;,\t")  # trailing blank lines
    end = tail_start + body.rfind(b"\n") + 1  # the last non-blank line is the totals row
    return start, end


def run_copy(path, summary):
    """PostgreSQL COPY of the data lines into a bare table of text columns: seconds, rows."""
    import psycopg
    from psycopg import sql

    database = connection.settings_dict
    width = len(summary["columns"])
    delimiter = summary["delimiter"]
    blank_line = re.compile(b"(?m)^[" + re.escape(delimiter.encode()) + b"]*\r?\n")
    encoding = "WIN1252" if summary["encoding"] == "cp1252" else "UTF8"
    start, end = data_byte_range(path, summary["header_line"])
    columns = ", ".join(f"c{i} text" for i in range(width))
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"] or None,
        dbname=database["NAME"],
    ) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_raw")
        conn.execute(f"CREATE TABLE bench_copy_raw ({columns})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            statement = sql.SQL("COPY bench_copy_raw FROM STDIN (FORMAT csv, DELIMITER {}, ENCODING {})").format(
                sql.Literal(delimiter), sql.Literal(encoding)
            )
            with cursor.copy(statement) as copy, open(path, "rb") as handle:
                handle.seek(start)
                left = end - start
                while left > 0:
                    chunk = handle.read(min(1 << 20, left))
                    left -= len(chunk)
                    if left > 0:  # end each chunk on a line break so blank lines are whole
                        rest = handle.readline()[:left]
                        left -= len(rest)
                        chunk += rest
                    copy.write(blank_line.sub(b"", chunk))
            rows = cursor.rowcount
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy_raw")
        conn.commit()
    return seconds, rows


def parsed_rows(path, count):
    """The first `count` rows of the file that parse cleanly, as import-export dataset values."""
    layout = detect_layout(path, Kind.RISK)
    parsers = {
        "text": lambda spec, raw: parsing.parse_text(raw, spec.max_length),
        "date": lambda spec, raw: parsing.parse_date(raw, layout.date_format),
        "amount": lambda spec, raw: parsing.parse_amount(raw, layout.decimal_style),
        "percent": lambda spec, raw: parsing.parse_percent(raw, layout.decimal_style),
        "currency": lambda spec, raw: parsing.parse_currency(raw),
        "country": lambda spec, raw: parsing.parse_country(raw),
        "choice": lambda spec, raw: parsing.parse_choice(raw, tuple(spec.choices.items())),
    }
    rows, keys = [], set()
    reader = CsvRows(path, encoding=layout.encoding, delimiter=layout.delimiter, size=1)
    for number, cells in enumerate(reader, start=1):
        if number <= layout.header_row or not "".join(cells).strip():
            continue
        values, ok = {}, True
        for spec in FIELDS[Kind.RISK]:
            position = layout.columns.get(spec.name)
            raw = cells[position] if position is not None and position < len(cells) else ""
            value, error = parsers[spec.type](spec, raw)
            if error or (value is None and spec.required):
                ok = False
                break
            values[spec.name] = Decimal(0) if value is None and spec.type == "amount" else value
        if not ok:
            continue
        _as_stored(values)
        key = tuple(values[name] for name in NATURAL_KEYS[Kind.RISK])
        if key in keys:  # a repeated key would update, not add, a row
            continue
        keys.add(key)
        rows.append([number, *values.values()])
        if len(rows) == count:
            break
    return rows


def _as_stored(values):
    """The values as the import stores them: the standard's movement for an earlier word, the type of
    business it implied, the inception date for a missing effective date, a return premium negative."""
    movement, business = LEGACY_TRANSACTION_TYPES.get(values["transaction_type"], (values["transaction_type"], ""))
    if movement == BY_SIGN:
        movement = RETURN if values["gross_premium"] < 0 else ADDITIONAL
    values["transaction_type"] = movement
    values["business_type"] = values["business_type"] or business
    values["transaction_date"] = values["transaction_date"] or values["inception_date"]
    if movement in RETURN_TYPES:
        for name in ("gross_premium", "total_taxes", "net_premium"):
            values[name] = -abs(values[name])


def run_import_export(path, count):
    """django-import-export importing `count` parsed rows into RiskRow by natural key."""
    import tablib
    from import_export import resources

    names = [spec.name for spec in FIELDS[Kind.RISK]]
    key = ("source", "period", *NATURAL_KEYS[Kind.RISK])

    class RiskRowResource(resources.ModelResource):
        class Meta:
            model = RiskRow
            import_id_fields = key
            fields = ("source", "period", "job", "row_number", *names)

    source = Source.objects.create(name=f"bench-import-export-{time.strftime('%Y%m%d%H%M%S')}")
    job = ImportJob.objects.create(
        source=source,
        kind=Kind.RISK,
        period=f"{PERIOD}-01",
        stored_name=f"import-export-{source.pk}.csv",  # no file: the peer reads the rows from `path`
        original_name=path.name,
        sha256=hashlib.sha256(str(time.time()).encode()).hexdigest(),
        status=ImportJob.Status.SUCCEEDED,
    )
    dataset = tablib.Dataset(headers=["source", "period", "job", "row_number", *names])
    for number, *values in parsed_rows(path, count):
        dataset.append([source.pk, f"{PERIOD}-01", job.pk, number, *values])
    started = time.perf_counter()
    result = RiskRowResource().import_data(dataset, dry_run=False, use_transactions=True, raise_errors=True)
    seconds = time.perf_counter() - started
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit("django-import-export reported errors on clean rows")
    return seconds, len(dataset), RiskRow.objects.filter(source=source).count()


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench ingestion")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--bad-rate", type=float, default=0.01)
    parser.add_argument("--peer-rows", type=int, default=5_000, help="rows given to django-import-export")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument(
        "--shape", choices=["messy", "crs"], default="messy", help="crs: also a file of the standard's shape"
    )
    args = parser.parse_args(argv)

    ensure_database()
    reset_tables()
    csv_path, csv_summary = bench_file(args.rows, args.seed, args.bad_rate, "csv")
    xlsx_path, xlsx_summary = bench_file(args.xlsx_rows, args.seed, args.bad_rate, "xlsx")

    say(f"ours: import_bordereau on {args.rows:,} CSV rows")
    ours_seconds, peak_rss_mb, ours = run_ours(csv_path, "csv")
    say(f"ours: {ours_seconds:.1f} s, peak RSS {peak_rss_mb:.0f} MB; raw COPY of the same file")
    copy_seconds, copy_rows = run_copy(csv_path, csv_summary)
    say(f"copy: {copy_seconds:.1f} s; django-import-export on {args.peer_rows:,} rows")
    peer_seconds, peer_rows, peer_loaded = run_import_export(csv_path, args.peer_rows)
    say(f"import-export: {peer_seconds:.1f} s; ours on {args.xlsx_rows:,} XLSX rows")
    xlsx_seconds, xlsx_rss_mb, xlsx = run_ours(xlsx_path, "xlsx")
    crs_figures = run_crs_shape(args) if args.shape == "crs" else None

    ours_rate = args.rows / ours_seconds
    copy_rate = copy_rows / copy_seconds
    peer_rate = peer_rows / peer_seconds
    xlsx_rate = args.xlsx_rows / xlsx_seconds
    expected = {
        "rows_total": args.rows,
        "rows_loaded": csv_summary["rows_good"],
        "rows_rejected": csv_summary["rows_bad"],
    }
    expected_xlsx = {
        "rows_total": args.xlsx_rows,
        "rows_loaded": xlsx_summary["rows_good"],
        "rows_rejected": xlsx_summary["rows_bad"],
    }
    figures = {
        "benchmark": "bordereau_ingestion",
        "rows": args.rows,
        "ours_rows_per_s": round(ours_rate),
        "ours_seconds": round(ours_seconds, 2),
        "ours_command_seconds": ours["seconds"],
        "peak_rss_mb": round(peak_rss_mb, 1),
        "rows_loaded": ours["rows_loaded"],
        "rows_rejected": ours["rows_rejected"],
        "counts_as_generated": {key: ours[key] for key in expected} == expected,
        "copy_rows_per_s": round(copy_rate),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows": copy_rows,
        "import_export_rows_per_s": round(peer_rate),
        "import_export_rows": peer_rows,
        "import_export_loaded": peer_loaded,
        "ratio_vs_copy": round(ours_rate / copy_rate, 3),
        "ratio_vs_import_export": round(ours_rate / peer_rate, 1),
        "xlsx_rows": args.xlsx_rows,
        "xlsx_rows_per_s": round(xlsx_rate),
        "xlsx_seconds": round(xlsx_seconds, 2),
        "xlsx_peak_rss_mb": round(xlsx_rss_mb, 1),
        "xlsx_counts_as_generated": {key: xlsx[key] for key in expected_xlsx} == expected_xlsx,
        "file_mb": round(csv_summary["bytes"] / 2**20, 1),
        "file": {
            name: csv_summary[name]
            for name in ("encoding", "delimiter", "date_style", "decimal_style", "thousands", "title_rows")
        },
        "generated_s": None if csv_summary["cached"] else csv_summary["seconds"],
        "shape": args.shape,
        "cpus": os.cpu_count(),
    }
    if crs_figures:
        figures["crs"] = {**crs_figures, "ratio_vs_messy": round(crs_figures["ours_rows_per_s"] / ours_rate, 3)}
    figures["targets_met"] = {
        "ours_rows_per_s": ours_rate >= TARGETS["ours_rows_per_s"],
        "peak_rss_mb": peak_rss_mb <= TARGETS["peak_rss_mb"],
        "xlsx_rows_per_s": xlsx_rate >= TARGETS["xlsx_rows_per_s"],
    }
    emit(figures)


def run_crs_shape(args):
    """Ours and the raw COPY on a file of the standard's shape with the same number of rows."""
    path, summary = crs_bench_file(args.rows, args.seed, args.bad_rate)
    say(f"ours: import_bordereau on {args.rows:,} rows of the standard's shape")
    seconds, peak_rss_mb, ours = run_ours(path, "crs")
    say(f"ours (crs): {seconds:.1f} s; raw COPY of the same file")
    copy_seconds, copy_rows = run_copy(path, summary)
    expected = {"rows_total": args.rows, "rows_loaded": summary["rows_good"], "rows_rejected": summary["rows_bad"]}
    rate, copy_rate = args.rows / seconds, copy_rows / copy_seconds
    return {
        "ours_rows_per_s": round(rate),
        "ours_seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "rows_loaded": ours["rows_loaded"],
        "rows_rejected": ours["rows_rejected"],
        "counts_as_generated": {key: ours[key] for key in expected} == expected,
        "copy_rows_per_s": round(copy_rate),
        "copy_seconds": round(copy_seconds, 2),
        "ratio_vs_copy": round(rate / copy_rate, 3),
        "file_mb": round(summary["bytes"] / 2**20, 1),
        "generated_s": None if summary["cached"] else summary["seconds"],
    }
