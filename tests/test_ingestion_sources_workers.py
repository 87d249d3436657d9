"""Web-service pulls with real workers: two workers sharing one rate budget never exceed it (measured
at the cedant's end), and a worker killed mid-pull, then run again, ends equal to a clean pull."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from portal.ingestion.models import ImportJob, RiskRow
from portal.ingestion.sources.models import SyncRun
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.sync import sync_run_execute

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record
from .helpers import url_of_the_test_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def private_and_fast(settings, tmp_path, monkeypatch):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_INGESTION_RETRY_BASE_SECONDS = 0.01
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    monkeypatch.setenv("ANDINOS_SECRET", CLIENT_SECRET)


def _pull_in_thread(connection_id, results):
    try:
        from portal.ingestion.sources.models import SourceConnection

        source = SourceConnection.objects.get(pk=connection_id)
        run = sync_run_start(actor=None, connection=source, enqueue=False)
        results.append(sync_run_execute(run_id=run.pk))
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_pulling_two_sources_that_share_a_budget_never_exceed_it():
    records = [risk_record(n) for n in range(1, 13)]
    budget = {"requests": 4, "per": "second", "budget": "andinos-gateway"}
    with CedantServer(records, page_size=1) as server:
        ids = []
        for name in ("Andinos Risks A", "Andinos Risks B"):
            ids.append(source_connection_load(actor=None, spec=server.spec(name=name, rate_limit=budget)).pk)
        results = []
        workers = [threading.Thread(target=_pull_in_thread, args=(pk, results)) for pk in ids]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        elapsed = time.monotonic() - started
        times = sorted(server.request_times)
    assert [run.status for run in results] == [SyncRun.Status.SUCCEEDED] * 2
    assert len(times) == 26  # 13 pages each: 12 records and the empty page
    busiest = max(sum(1 for other in times if first <= other < first + 0.95) for first in times)
    assert busiest <= 4
    assert elapsed >= (26 - 4) / 4 * 0.95  # the budget, not the server, set the pace


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pull_killed_mid_run_then_run_again_ends_equal_to_a_clean_pull(tmp_path):
    incremental = {"cursor_field": "updatedAt", "param": "updated_since", "initial_value": "2026-01-01T00:00:00Z"}
    first_records = [risk_record(n, updated_at=f"2026-10-01T{n:02d}:00:00Z") for n in range(1, 4)]
    later_records = [risk_record(n, updated_at=f"2026-10-02T{n % 24:02d}:{n // 24:02d}:00Z") for n in range(4, 40)]
    with CedantServer(first_records, page_size=2) as server:
        resource = {**server.spec()["resource"], "incremental": incremental}
        killed = source_connection_load(actor=None, spec=server.spec(name="Killed cedant", resource=resource))
        clean = source_connection_load(actor=None, spec=server.spec(name="Clean cedant", resource=resource))
        for source in (killed, clean):
            sync_run_execute(run_id=sync_run_start(actor=None, connection=source, enqueue=False).pk)
        killed.refresh_from_db()
        committed_cursor = killed.cursor_value
        assert committed_cursor == "2026-10-01T03:00:00Z"
        server.records += later_records
        server.faults = [("slow", 0.3)] * 100
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": url_of_the_test_database(),
            "AMPARO_PRIVATE_ROOT": str(tmp_path / "private"),
        }
        with (tmp_path / "worker.log").open("wb") as output:
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "ingestion_source_sync", "Killed cedant"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while len(server.data_requests) < 2 + 2 + 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        dead = SyncRun.objects.get(connection=killed, status=SyncRun.Status.RUNNING)
        assert dead.page_set.count() >= 3  # pages were kept; nothing was loaded
        assert RiskRow.objects.filter(source=killed.source).count() == 3
        killed.refresh_from_db()
        assert killed.cursor_value == committed_cursor
        dead_jobs = list(dead.jobs.values_list("pk", flat=True))
        # Its worker has been silent long enough for the next pull to take over.
        SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
        server.faults = []
        server.data_requests.clear()
        rerun = sync_run_execute(run_id=sync_run_start(actor=None, connection=killed, enqueue=False).pk)
        assert server.data_requests[0][1]["updated_since"] == committed_cursor
        clean_rerun = sync_run_execute(run_id=sync_run_start(actor=None, connection=clean, enqueue=False).pk)
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED
    assert set(ImportJob.objects.filter(pk__in=dead_jobs).values_list("status", flat=True)) <= {ImportJob.Status.FAILED}
    assert rerun.status == clean_rerun.status == SyncRun.Status.SUCCEEDED
    assert rerun.cursor_after == clean_rerun.cursor_after
    killed.refresh_from_db()
    assert killed.cursor_value == rerun.cursor_after
    columns = ("umr", "certificate_ref", "transaction_type", "period", "gross_premium", "net_premium", "insured_name")
    rows = {
        source: sorted(RiskRow.objects.filter(source__name=source).values_list(*columns))
        for source in ("Killed cedant", "Clean cedant")
    }
    assert len(rows["Killed cedant"]) == 39
    assert rows["Killed cedant"] == rows["Clean cedant"]
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE ANY(%s)", [[f"ingestion_%_{pk}" for pk in dead_jobs]]
        )
        assert cursor.fetchone()[0] == 0  # the dead run's working tables are gone
