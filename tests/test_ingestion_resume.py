"""Kill the worker half-way through an import, run the job again, and the bordereau table must
match a clean import of the same file: no duplicates, no lost rows, nothing from the dead run.

The import runs in a real separate process (`manage.py import_bordereau`) against the test
database, so the kill is a real SIGKILL of a process holding a database session mid-import.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from portal.core.tasks import worker_silence
from portal.ingestion.models import ImportJob, RiskRow, Source
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_retry

from .helpers import url_of_the_test_database

ROOT = Path(__file__).resolve().parent.parent
ROWS = 300_000
PERIOD = date(2026, 10, 1)
HEADER = (
    "UMR,Certificate Ref,Insured Full Name or Company Name,Risk Inception Date,Risk Expiry Date,"
    "Location of Risk Country,Original Currency,Sum Insured,Gross Premium,Commission %,Total Taxes,"
    "Net Premium,Class of Business,Transaction Type"
)
CURRENCIES = ("USD", "EUR", "COP", "GBP")
CLASSES = ("Property", "Marine Cargo", "Liability", "Engineering")
TRANSACTIONS = ("New", "Renewal", "Endorsement")
COMPARED = (  # every column a clean import decides (not ids, job or timestamps)
    "umr",
    "certificate_ref",
    "transaction_type",
    "period",
    "row_number",
    "insured_name",
    "inception_date",
    "expiry_date",
    "country",
    "currency",
    "sum_insured",
    "gross_premium",
    "commission_pct",
    "total_taxes",
    "net_premium",
    "class_of_business",
)


def write_bordereau(path, rows):
    """A simple, valid risk bordereau: every row loads."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\r\n")
        lines = []
        for number in range(1, rows + 1):
            gross = Decimal(1000 + number % 997)
            net = gross * Decimal("0.8") - Decimal(50)
            lines.append(
                f"B0999R{number % 7:02d}2026,C{number:07d},Insured {number} SAS,01/10/2026,30/09/2027,CO,"
                f"{CURRENCIES[number % 4]},{gross * 1000:.2f},{gross:.2f},20,50.00,{net:.2f},"
                f"{CLASSES[number % 4]},{TRANSACTIONS[number % 3]}\r\n"
            )
            if len(lines) == 10_000:
                handle.write("".join(lines))
                lines = []
        handle.write("".join(lines))


def rows_only_in(source_name, other_name):
    """How many rows of one source have no identical row (every compared column) in the other, in SQL."""
    columns = ", ".join(COMPARED)
    table = RiskRow._meta.db_table
    ids = {source.name: source.pk for source in Source.objects.filter(name__in=[source_name, other_name])}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT {columns} FROM {table} WHERE source_id = %s "
            f"EXCEPT SELECT {columns} FROM {table} WHERE source_id = %s) only_in_first",
            [ids[source_name], ids[other_name]],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_killed_half_way_leaves_nothing_and_its_rerun_matches_a_clean_import(tmp_path, settings):
    private = tmp_path / "private"
    settings.AMPARO_PRIVATE_ROOT = private
    path = tmp_path / "october_risk.csv"
    write_bordereau(path, ROWS)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": url_of_the_test_database(),
        "AMPARO_PRIVATE_ROOT": str(private),
    }

    def start_worker(source_name):
        """`manage.py import_bordereau` in its own process; its output goes to a file."""
        with (tmp_path / f"{source_name}.log").open("wb") as output:
            return subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "import_bordereau",
                    str(path),
                    "--source",
                    source_name,
                    "--period",
                    "2026-10",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output_of(source_name):
        return (tmp_path / f"{source_name}.log").read_text(errors="replace")[-2000:]

    worker = start_worker("Killed cedant")
    try:
        deadline = time.monotonic() + 45
        job = None
        while time.monotonic() < deadline and worker.poll() is None:
            job = ImportJob.objects.filter(source__name="Killed cedant").first()
            if job is not None and job.progress > 0:
                break
            time.sleep(0.01)
        assert worker.poll() is None, "the import finished before it could be killed: " + output_of("Killed cedant")
        assert job is not None and job.progress > 0, "the running import never showed its progress"
        assert job.status == ImportJob.Status.RUNNING
        assert 0 < job.rows_total < ROWS
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert worker.returncode == -signal.SIGKILL

    # The dead worker wrote nothing: the rows only reach the table in the final transaction.
    assert not RiskRow.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING, "the job is left interrupted, not finished"

    # Meanwhile, a clean import of the same file into another source, by another worker process.
    clean_worker = start_worker("Clean cedant")

    # While its heartbeat is fresh the job may still be alive: running it again is refused.
    with pytest.raises(ValidationError):
        import_job_retry(job=job, actor=None)
    # Once the worker has been silent for longer than the silence window, the job can be run again.
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - worker_silence() - timedelta(seconds=1))
    job.refresh_from_db()

    # Run the killed job again. In the test settings huey runs tasks at once, so the retry may
    # already have run the job; running it by id is then a no-op.
    try:
        import_job_retry(job=job, actor=None)
        import_job_run(job_id=job.pk)
    finally:
        clean_worker.wait(120)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert (job.rows_total, job.rows_loaded, job.rows_rejected) == (ROWS, ROWS, 0)
    assert job.progress == 100

    assert clean_worker.returncode == 0, output_of("Clean cedant")
    clean = ImportJob.objects.get(source__name="Clean cedant")
    assert clean.status == ImportJob.Status.SUCCEEDED
    assert (clean.rows_total, clean.rows_loaded, clean.rows_rejected) == (ROWS, ROWS, 0)

    resumed = RiskRow.objects.filter(source__name="Killed cedant")
    assert resumed.count() == RiskRow.objects.filter(source__name="Clean cedant").count() == ROWS
    assert rows_only_in("Killed cedant", "Clean cedant") == 0
    assert rows_only_in("Clean cedant", "Killed cedant") == 0
    assert resumed.exclude(job=job).count() == 0
    assert set(resumed.values_list("period", flat=True).distinct()) == {PERIOD}
    assert resumed.values("umr", "certificate_ref", "transaction_type").distinct().count() == ROWS
