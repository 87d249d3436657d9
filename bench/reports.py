"""Reports: a 1,000,000-row report written as CSV and as XLSX against PostgreSQL's own COPY of the
same query and django-import-export's export of the same rows, in the same run; the earned-premium
report over the million policies; and the administrator's dashboard at a million policies, live
counts (the dashboard before precomputed figures) against the precomputed figures.

    python -m bench reports [--rows N] [--policies N] [--repeat N] [--import-export-rows N]

The million-row report is the audit extract (one row per audit event, read straight from a query,
so the figure is the writers' own speed); its events are inserted by one INSERT … SELECT, dated in
2001 so that no dashboard window counts them. Peak RSS is the largest resident size a sampling
thread saw during each writer's run, in MB. The CSV is written as a report run writes it: on
PostgreSQL by COPY of the report's own query with each column formatted in SQL (csvcopy.py).
django-import-export builds its whole dataset in memory, so it exports `--import-export-rows`
of the same rows (100,000 by default) and its rate is per row like the others.
"""

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil
from django.db import connection
from django.test import Client
from import_export import resources

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.policies.demo import seed_demo_policies, seed_scale_policies
from portal.policies.models import Policy
from portal.reports import writers
from portal.reports.catalogue import REPORTS, parameters_clean
from portal.reports.figures import dashboard_figures_refresh
from portal.reports.models import DashboardFigure

from .common import emit, ensure_database, time_requests

BENCH_ACTION = "bench.report_row"


class PeakRSS:
    """The largest resident set size of this process while the block runs, sampled every 20 ms."""

    def __enter__(self):
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @property
    def mb(self):
        return round(self.peak / 1024 / 1024, 1)


def seed_audit_rows(count):
    have = AuditEvent.objects.filter(action=BENCH_ACTION).count()
    if have >= count:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_label, action, target_type, target_id, target_label,
                                          metadata, correlation_id)
            SELECT '2001-01-01T00:00:00Z'::timestamptz + (n || ' seconds')::interval,
                   'finance' || (n %% 7) || '@amparo.demo', %s,
                   'policies.policy', n::text, 'AUTO-2026-' || lpad(n::text, 7, '0'), '{}'::jsonb, md5(n::text)
            FROM generate_series(%s, %s) AS n
            """,
            [BENCH_ACTION, have + 1, count],
        )
        cursor.execute("ANALYZE audit_auditevent")
    return count - have


def audit_rows(admin, rows):
    report = REPORTS["audit_extract"]
    values, _stored = parameters_clean(report, {"action": BENCH_ACTION, "from": "2026-01-01"}, user=admin)
    values["from"] = values["from"].replace(year=2000)  # the whole table, whatever today's date
    return report, report.source(admin, values)


def time_writer(report, data, fmt, admin):
    with tempfile.TemporaryDirectory() as folder, PeakRSS() as rss:
        started = time.perf_counter()
        count, _totals = writers.write(
            report, fmt, data.rows, Path(folder) / f"report.{fmt}", parameters={}, requested_by=admin, query=data.query
        )
        seconds = time.perf_counter() - started
    return {"rows": count, "seconds": round(seconds, 2), "rows_per_s": round(count / seconds), "peak_rss_mb": rss.mb}


def time_copy(data_sql, params):
    with tempfile.TemporaryFile() as out, connection.cursor() as cursor:
        started = time.perf_counter()
        with cursor.connection.cursor().copy(f"COPY ({data_sql}) TO STDOUT WITH (FORMAT csv, HEADER)", params) as copy:
            for block in copy:
                out.write(block)
        seconds = time.perf_counter() - started
    return seconds


class AuditEventResource(resources.ModelResource):
    class Meta:
        model = AuditEvent
        fields = ("occurred_at", "actor_label", "action", "target_type", "target_id", "target_label", "correlation_id")


def time_import_export(rows):
    queryset = AuditEvent.objects.filter(action=BENCH_ACTION).order_by("occurred_at", "id")[:rows]
    with PeakRSS() as rss:
        started = time.perf_counter()
        dataset = AuditEventResource().export(queryset=queryset)
        dataset.csv  # noqa: B018 - rendering the CSV is part of the export
        seconds = time.perf_counter() - started
    return {"rows": len(dataset), "rows_per_s": round(len(dataset) / seconds), "peak_rss_mb": rss.mb}


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench reports")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--import-export-rows", type=int, default=100_000)
    args = parser.parse_args(argv)

    ensure_database()
    seed_demo_users()
    seed_demo_policies()
    started = time.perf_counter()
    created = seed_scale_policies(args.policies)
    build_seconds = round(time.perf_counter() - started, 1) if created else None
    if created:
        with connection.cursor() as cursor:
            for table in ("customers_customer", "policies_policy", "policies_policyversion"):
                cursor.execute(f"ANALYZE {table}")
    seed_audit_rows(args.rows)
    admin = User.objects.get(email_primary="admin@amparo.demo")

    report, data = audit_rows(admin, args.rows)
    csv_figures = time_writer(report, data, "csv", admin)
    report, data = audit_rows(admin, args.rows)
    xlsx_figures = time_writer(report, data, "xlsx", admin)
    # PostgreSQL writing the very query the report runs as CSV, with no Python in between.
    events = (
        AuditEvent.objects.filter(action=BENCH_ACTION)
        .order_by("occurred_at", "id")
        .values_list(
            "occurred_at", "actor_label", "action", "target_type", "target_id", "target_label", "correlation_id"
        )
    )
    sql, params = events.query.sql_with_params()
    copy_seconds = time_copy(sql, params)
    peer = time_import_export(args.import_export_rows)

    earned = REPORTS["earned_premium"]
    values, _stored = parameters_clean(earned, {}, user=admin)
    earned_figures = time_writer(earned, earned.source(admin, values), "csv", admin)

    client = Client()
    client.force_login(admin)
    DashboardFigure.objects.all().delete()
    live = time_requests(client, "/dashboard/", repeat=max(5, args.repeat // 3))
    started = time.perf_counter()
    dashboard_figures_refresh()
    refresh_seconds = round(time.perf_counter() - started, 2)
    precomputed = time_requests(client, "/dashboard/", repeat=args.repeat)

    emit(
        {
            "benchmark": "reports",
            "rows": csv_figures["rows"],
            "policies": Policy.objects.count(),
            "build_s": build_seconds,
            "csv_rows_per_s": csv_figures["rows_per_s"],
            "csv_peak_rss_mb": csv_figures["peak_rss_mb"],
            "xlsx_rows_per_s": xlsx_figures["rows_per_s"],
            "xlsx_peak_rss_mb": xlsx_figures["peak_rss_mb"],
            "peak_rss_mb": max(csv_figures["peak_rss_mb"], xlsx_figures["peak_rss_mb"]),
            "copy_rows_per_s": round(csv_figures["rows"] / copy_seconds),
            "import_export_rows": peer["rows"],
            "import_export_rows_per_s": peer["rows_per_s"],
            "import_export_peak_rss_mb": peer["peak_rss_mb"],
            "earned_premium_rows": earned_figures["rows"],
            "earned_premium_csv_rows_per_s": earned_figures["rows_per_s"],
            "dashboard_live_p50_ms": live["p50_ms"],
            "dashboard_p50_ms": precomputed["p50_ms"],
            "dashboard_p95_ms": precomputed["p95_ms"],
            "dashboard_queries": precomputed["queries"],
            "dashboard_ratio": round(live["p50_ms"] / precomputed["p50_ms"], 2),
            "figures_refresh_s": refresh_seconds,
        }
    )
