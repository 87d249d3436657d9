"""Bordereaux pulled from a web service: ours end to end vs the file path on the same records, in one run.

    python -m bench ingestion_api [--records N] [--page-size N]

- The API: a local paged JSON API in a process of its own (`page_number` paging, --page-size records per
  page, default 1,000) serving --records risk records (default 1,000,000; one in a hundred breaks the net
  premium rule). The pages are rendered once and cached under var/bench/ingestion_api/, so the server
  only sends bytes (a cedant's server runs on its own machine, not on our cores).
- ours: `manage.py ingestion_source_sync` as a child process: every page fetched, kept gzipped, its
  records staged through COPY, typed, checked and upserted; wall time from start to exit, peak RSS of
  the child sampled with psutil.
- file: the same records written as a CSV risk bordereau, through `manage.py import_bordereau` the same
  way: the file path's rows/s on the same rows.

Each run rebuilds the bordereau tables of the benchmark database (BENCH_DATABASE_URL, its own database).
Progress goes to stderr; stdout gets one JSON line.
"""

import argparse
import csv
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
from django.conf import settings

from portal.ingestion.sources.services import source_connection_load

from .common import emit, ensure_database
from .ingestion import reset_tables

WORK = Path(settings.BASE_DIR) / "var" / "bench" / "ingestion_api"
TARGETS = {"ours_records_per_s": 50_000, "peak_rss_mb": 300}
CURRENCIES = ("USD", "EUR", "COP", "GBP")
CLASSES = ("Property", "Marine Cargo", "Liability", "Engineering")
TRANSACTIONS = ("New", "Renewal", "Endorsement")
CSV_HEADER = [
    "UMR",
    "Certificate Ref",
    "Insured Full Name or Company Name",
    "Risk Inception Date",
    "Risk Expiry Date",
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


def say(message):
    print(f"[bench ingestion_api] {message}", file=sys.stderr, flush=True)


def record(number):
    gross = Decimal(1000 + number % 997)
    net = gross * Decimal("0.8") - 50 + (7 if number % 100 == 0 else 0)  # one in a hundred is wrong
    return {
        "umr": f"B0999R{number % 7:02d}2026",
        "certificateRef": f"C{number:08d}",
        "insured": {"name": f"Insured {number} SAS"},
        "inceptionDate": "2026-10-01",
        "expiryDate": "2027-09-30",
        "riskCountry": "CO",
        "currency": CURRENCIES[number % 4],
        "sumInsured": float(gross * 1000),
        "grossPremium": float(gross),
        "commissionPct": 20,
        "totalTaxes": 50,
        "netPremium": float(net),
        "classOfBusiness": CLASSES[number % 4],
        "transactionType": TRANSACTIONS[number % 3],
        "reportingPeriod": "2026-10",
        "updatedAt": f"2026-10-{1 + number % 28:02d}T10:00:00Z",
    }


def write_pages(path, total, size):
    """Every page's JSON, rendered once and kept (like the CSV): the API then only sends bytes, as a
    cedant's server on its own machine would, instead of taking this machine's cores from the pull."""
    if path.exists():
        return
    say(f"rendering {total:,} records as pages of {size:,} into {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        for first in range(1, total + 1, size):
            page = [record(number) for number in range(first, min(total, first + size - 1) + 1)]
            handle.write(json.dumps({"data": page}).encode() + b"\n")
    partial.rename(path)


def serve(port_queue, pages_path):
    with open(pages_path, "rb") as handle:
        pages = handle.read().split(b"\n")[:-1]
    empty = json.dumps({"data": []}).encode()

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as any cedant's server: HTTP/1.0 would cost a new connection for every page.
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            page = int(parse_qs(urlsplit(self.path).query)["page"][0])
            body = pages[page - 1] if 0 < page <= len(pages) else empty
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def write_csv(path, total):
    if path.exists():
        return
    say(f"writing the same {total:,} records as CSV into {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for number in range(1, total + 1):
            r = record(number)
            writer.writerow(
                [
                    r["umr"],
                    r["certificateRef"],
                    r["insured"]["name"],
                    r["inceptionDate"],
                    r["expiryDate"],
                    r["riskCountry"],
                    r["currency"],
                    f"{r['sumInsured']:.2f}",
                    f"{r['grossPremium']:.2f}",
                    r["commissionPct"],
                    r["totalTaxes"],
                    f"{r['netPremium']:.2f}",
                    r["classOfBusiness"],
                    r["transactionType"],
                ]
            )


def run_child(arguments):
    """`manage.py` with `arguments` in a child process: wall seconds, peak RSS (MB) and its JSON line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "AMPARO_PRIVATE_ROOT": str(WORK / "private")}
    log = WORK / f"{arguments[0]}.log"
    started = time.perf_counter()
    # Its log goes to a file: a pipe nobody reads until the end fills up and stops the child.
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    stdout, _ = child.communicate()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{arguments[0]} failed ({child.returncode}):\n{log.read_text()[-3000:]}")
    return seconds, peak / 2**20, json.loads(stdout.strip().splitlines()[-1])


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench ingestion_api")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=1_000)
    args = parser.parse_args(argv)

    ensure_database()
    reset_tables()
    shutil.rmtree(WORK / "private", ignore_errors=True)
    csv_path = WORK / f"records-{args.records}.csv"
    write_csv(csv_path, args.records)
    pages_path = WORK / f"pages-{args.records}-{args.page_size}.jsonl"
    write_pages(pages_path, args.records, args.page_size)

    ports = multiprocessing.Queue()
    api = multiprocessing.Process(target=serve, args=(ports, pages_path), daemon=True)
    api.start()
    base_url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    name = f"bench-api-{time.strftime('%Y%m%d%H%M%S')}"
    source_connection_load(
        actor=None,
        spec={
            "name": name,
            "kind": "risk",
            "base_url": base_url,
            "auth": {"type": "none"},
            "resource": {
                "path": "/v1/risks",
                "params": {"page_size": args.page_size},
                "records": "data",
                "paginator": {"type": "page_number", "page_param": "page", "start": 1},
            },
            "period": {"field": "reportingPeriod"},
            "timeout": {"connect": 5, "read": 60},
        },
    )
    try:
        say(f"ours: ingestion_source_sync of {args.records:,} records, {args.page_size:,} a page")
        ours_seconds, ours_rss, ours = run_child(["ingestion_source_sync", name])
    finally:
        api.terminate()
    say(f"ours: {ours_seconds:.1f} s, peak RSS {ours_rss:.0f} MB; the file path on the same records")
    file_seconds, file_rss, file = run_child(
        ["import_bordereau", str(csv_path), "--source", f"{name}-file", "--kind", "risk", "--period", "2026-10"]
    )
    shutil.rmtree(WORK / "private", ignore_errors=True)
    # Linux reports ru_maxrss in KiB: the largest child, a check on the sampling.
    children_max_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ours_rate = args.records / ours_seconds
    file_rate = args.records / file_seconds
    expected_rejected = args.records // 100
    figures = {
        "benchmark": "bordereau_ingestion_api",
        "records": args.records,
        "page_size": args.page_size,
        "ours_records_per_s": round(ours_rate),
        "ours_seconds": round(ours_seconds, 2),
        "ours_command_seconds": ours["seconds"],
        "peak_rss_mb": round(ours_rss, 1),
        "pages": ours["pages"],
        "rows_loaded": ours["rows_loaded"],
        "rows_rejected": ours["rows_rejected"],
        "counts_as_generated": (ours["rows_loaded"], ours["rows_rejected"])
        == (args.records - expected_rejected, expected_rejected),
        "file_rows_per_s": round(file_rate),
        "file_seconds": round(file_seconds, 2),
        "file_peak_rss_mb": round(file_rss, 1),
        "file_counts_match": (file["rows_loaded"], file["rows_rejected"])
        == (ours["rows_loaded"], ours["rows_rejected"]),
        "largest_child_rss_mb": round(children_max_mb, 1),
        "ratio_vs_file": round(ours_rate / file_rate, 3),
        "cpus": os.cpu_count(),
    }
    figures["targets_met"] = {
        "ours_records_per_s": ours_rate >= TARGETS["ours_records_per_s"],
        "peak_rss_mb": ours_rss <= TARGETS["peak_rss_mb"],
    }
    emit(figures)
