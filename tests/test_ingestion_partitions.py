"""On PostgreSQL the bordereau row tables are partitioned by (source, period): a first import of a
pair becomes its partition, later imports of the pair update it, rows written outside the import
go to the default partition, and the natural key stays unique across all of it."""

import contextlib
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from portal.ingestion import partitions
from portal.ingestion.models import ClaimRow, ImportJob, RiskRow, RiskTotal
from portal.ingestion.services import profile_save, source_create

from .helpers import CLAIM_COLUMNS, PERIOD, as_csv, import_file, run_import, upload
from .helpers import claim_values as claim
from .ingestion_rows import risk_values as risk

NOVEMBER = date(2026, 11, 1)
RISK_KEY = ("umr", "certificate_ref", "transaction_type")
pytestmark = pytest.mark.usefixtures("private_root")


def partitions_of(model, source, period=None):
    """The partitions attached to the model's table, from the catalog, that hold rows of `source`
    (of `period` only, if given): the default one and those whose bounds name it. Other tests'
    sources may have partitions of their own."""
    pair = rf"FROM \('?{int(source.pk)}'?, " + (f"'{period.isoformat()}'\\)" if period else "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) "
            "AND (pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' OR pg_get_expr(c.relpartbound, c.oid) ~ %s) "
            "ORDER BY c.relname",
            [model._meta.db_table, "^FOR VALUES " + pair],
        )
        return [row[0] for row in cursor.fetchall()]


def partitions_for(model, source, period):
    """The partitions (other than the default) whose bounds are exactly `source` and `period`."""
    return [name for name in partitions_of(model, source, period) if not name.endswith("_default")]


def rows_in(table, *columns, source):
    """The rows of `source` stored in that very table (a partition), ordered by row number."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM ONLY {table} WHERE source_id = %s ORDER BY row_number", [source.pk]
        )
        return cursor.fetchall()


def insert_copy(model, *, into, of, where):
    """Insert into table `into` a copy, with a fresh id, of the rows of table `of` matching `where`."""
    columns = [field.column for field in model._meta.concrete_fields]
    copied = ", ".join("id + 1000" if column == "id" else column for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {into} ({', '.join(columns)}) SELECT {copied} FROM {of} WHERE {where}")


def table_exists(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def orm_risk_row(source, period, job, number, **changes):
    """A risk row written by the ORM, as the admin would: every required field, no import."""
    fields = {
        "source": source,
        "period": period,
        "job": job,
        "row_number": number + 1,
        "currency": "USD",
        "umr": "B0999ABC2026",
        "certificate_ref": f"CERT-{number:04d}",
        "transaction_type": "Original Premium",
        "business_type": "New",
        "transaction_date": date(2026, 10, 1),
        "insured_name": f"Insured {number} SAS",
        "inception_date": date(2026, 10, 1),
        "expiry_date": date(2027, 9, 30),
        "country": "CO",
        "sum_insured": Decimal("1000000.00"),
        "gross_premium": Decimal("1000.00"),
        "commission_pct": Decimal("20"),
        "total_taxes": Decimal("50.00"),
        "net_premium": Decimal("750.00"),
        "class_of_business": "Property",
    }
    fields.update(changes)
    return RiskRow.objects.create(**fields)


@pytest.mark.django_db
def test_the_row_tables_are_partitioned_on_postgresql_and_plain_elsewhere():
    on_postgresql = connection.vendor == "postgresql"
    assert partitions.is_partitioned(RiskRow) is on_postgresql
    assert partitions.is_partitioned(ClaimRow) is on_postgresql


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_first_import_of_a_source_and_period_becomes_its_own_partition(source):
    job = import_file(source, as_csv([risk(1), risk(2), risk(3)]))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert (job.rows_total, job.rows_loaded, job.rows_rejected) == (3, 3, 0)

    name = partitions.partition_name(RiskRow, source.pk, PERIOD)
    assert name == f"ingestion_riskrow_s{source.pk}_20261001"
    assert partitions_of(RiskRow, source) == sorted(["ingestion_riskrow_default", name])
    assert partitions_for(RiskRow, source, PERIOD) == [name]
    assert partitions.partition_exists(RiskRow, source.pk, PERIOD)

    # The partition holds exactly the loaded rows, with ids made of the job and the line numbers.
    assert rows_in(name, "id", "certificate_ref", "row_number", "job_id", source=source) == [
        (job.pk * 2**32 + 2, "CERT-0001", 2, job.pk),
        (job.pk * 2**32 + 3, "CERT-0002", 3, job.pk),
        (job.pk * 2**32 + 4, "CERT-0003", 4, job.pk),
    ]
    assert rows_in("ingestion_riskrow_default", "id", "row_number", source=source) == []
    # Its working tables are gone: the typed one became the partition.
    assert not table_exists(f"ingestion_typed_{job.pk}")
    assert not table_exists(f"ingestion_raw_{job.pk}")

    # The ORM reads them through the parent.
    stored = RiskRow.objects.filter(source=source, period=PERIOD).order_by("row_number")
    assert [row.certificate_ref for row in stored] == ["CERT-0001", "CERT-0002", "CERT-0003"]
    assert {row.pk for row in stored} == {job.pk * 2**32 + number for number in (2, 3, 4)}
    row = RiskRow.objects.get(pk=job.pk * 2**32 + 3)
    assert (row.insured_name, row.gross_premium, row.net_premium) == (
        "Insured 2 SAS",
        Decimal("1000.00"),
        Decimal("750.00"),
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_partition_keeps_the_natural_key_unique(source):
    job = import_file(source, as_csv([risk(1), risk(2)]))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    name = partitions.partition_name(RiskRow, source.pk, PERIOD)

    # Through the parent (the ORM): the row is routed to the partition, which refuses it.
    with pytest.raises(IntegrityError), transaction.atomic():
        orm_risk_row(source, PERIOD, job, 1, insured_name="Someone else SAS")
    # Straight into the partition, with a fresh id.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_copy(RiskRow, into=name, of=name, where="certificate_ref = 'CERT-0002'")

    assert RiskRow.objects.filter(source=source, period=PERIOD).count() == 2
    assert RiskRow.objects.get(certificate_ref="CERT-0001").insured_name == "Insured 1 SAS"
    # The same key in another period, or with another transaction type, is another row.
    orm_risk_row(source, NOVEMBER, job, 1)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {name} SET transaction_type = 'Additional Premium' WHERE certificate_ref = 'CERT-0002'")
    orm_risk_row(source, PERIOD, job, 2)
    assert RiskRow.objects.filter(source=source).count() == 4


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_corrected_resubmission_updates_rows_inside_the_same_partition(source):
    first = import_file(source, as_csv([risk(1), risk(2), risk(3)]))
    assert first.status == ImportJob.Status.SUCCEEDED, first.error
    name = partitions.partition_name(RiskRow, source.pk, PERIOD)
    ids = [row[0] for row in rows_in(name, "id", source=source)]

    corrected = import_file(
        source,
        as_csv([risk(1), risk(2, insured="Corrected SAS", gross="2000.00", taxes="100.00", net="1500.00"), risk(3)]),
    )
    assert corrected.status == ImportJob.Status.SUCCEEDED, corrected.error
    assert (corrected.rows_loaded, corrected.rows_rejected) == (3, 0)

    assert partitions_for(RiskRow, source, PERIOD) == [name]
    assert partitions_of(RiskRow, source) == sorted(["ingestion_riskrow_default", name])
    assert rows_in(
        name, "id", "certificate_ref", "insured_name", "gross_premium", "net_premium", "job_id", source=source
    ) == [
        (ids[0], "CERT-0001", "Insured 1 SAS", Decimal("1000.00"), Decimal("750.00"), corrected.pk),
        (ids[1], "CERT-0002", "Corrected SAS", Decimal("2000.00"), Decimal("1500.00"), corrected.pk),
        (ids[2], "CERT-0003", "Insured 3 SAS", Decimal("1000.00"), Decimal("750.00"), corrected.pk),
    ]
    assert rows_in("ingestion_riskrow_default", "id", "row_number", source=source) == []
    assert RiskRow.objects.filter(source=source, period=PERIOD).count() == 3

    # A resubmission with a new key adds it to the same partition.
    more = import_file(source, as_csv([risk(1), risk(4)]))
    assert more.status == ImportJob.Status.SUCCEEDED, more.error
    assert partitions_for(RiskRow, source, PERIOD) == [name]
    assert sorted(row[0] for row in rows_in(name, "certificate_ref", source=source)) == [
        "CERT-0001",
        "CERT-0002",
        "CERT-0003",
        "CERT-0004",
    ]
    assert RiskRow.objects.get(certificate_ref="CERT-0004").pk == more.pk * 2**32 + 3


@pytest.mark.postgres
def estimated_rows(table):
    """What the planner believes `table` holds: its statistics, not a count."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_import_that_grows_a_partition_by_more_than_a_tenth_refreshes_its_statistics(source):
    assert import_file(source, as_csv([risk(n) for n in range(1, 61)])).status == ImportJob.Status.SUCCEEDED
    name = partitions.partition_name(RiskRow, source.pk, PERIOD)
    assert estimated_rows(name) == 60

    grown = import_file(source, as_csv([risk(n) for n in range(1, 161)]))
    assert grown.rows_loaded == 160
    assert estimated_rows(name) == 160

    # Five rows more is under autovacuum's threshold (50 rows and a tenth): no ANALYZE for them.
    import_file(source, as_csv([risk(n) for n in range(161, 166)]))
    assert estimated_rows(name) == 160
    assert RiskRow.objects.filter(source=source, period=PERIOD).count() == 165


@pytest.mark.django_db
def test_rows_written_outside_the_import_go_to_the_default_partition_and_a_later_import_updates_them(source):
    # A job for the hand-written row to point at; it is never run.
    placeholder = upload(source, as_csv([risk(99)]), period=date(2026, 1, 1), name="placeholder.csv")
    written = orm_risk_row(source, PERIOD, placeholder, 1, insured_name="Typed by hand SAS")
    assert rows_in("ingestion_riskrow_default", "id", "certificate_ref", source=source) == [(written.pk, "CERT-0001")]
    assert partitions.default_partition_holds(RiskRow, source.pk, PERIOD)

    job = import_file(source, as_csv([risk(1, insured="From the file SAS"), risk(2)]))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert (job.rows_loaded, job.rows_rejected) == (2, 0)

    # Through the parent, into the default partition: the hand-written row is updated, not doubled.
    assert not partitions.partition_exists(RiskRow, source.pk, PERIOD)
    assert partitions_for(RiskRow, source, PERIOD) == []
    assert partitions_of(RiskRow, source) == ["ingestion_riskrow_default"]
    assert rows_in("ingestion_riskrow_default", "id", "certificate_ref", "insured_name", "job_id", source=source) == [
        (written.pk, "CERT-0001", "From the file SAS", job.pk),
        (job.pk * 2**32 + 3, "CERT-0002", "Insured 2 SAS", job.pk),
    ]
    stored = RiskRow.objects.filter(source=source, period=PERIOD)
    assert stored.count() == 2
    assert stored.get(certificate_ref="CERT-0001").pk == written.pk

    # Another period of the same source still gets a partition of its own.
    november = import_file(source, as_csv([risk(1), risk(2)]), period=NOVEMBER)
    assert november.status == ImportJob.Status.SUCCEEDED, november.error
    name = partitions.partition_name(RiskRow, source.pk, NOVEMBER)
    assert partitions_for(RiskRow, source, NOVEMBER) == [name]
    assert partitions_of(RiskRow, source) == sorted(["ingestion_riskrow_default", name])
    assert [row[0] for row in rows_in(name, "certificate_ref", source=source)] == ["CERT-0001", "CERT-0002"]
    assert len(rows_in("ingestion_riskrow_default", "id", source=source)) == 2
    assert RiskRow.objects.filter(source=source).count() == 4


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_claims_import_gets_a_claims_partition(source):
    job = import_file(source, as_csv([claim(1), claim(2)], columns=CLAIM_COLUMNS), kind="claims")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert (job.rows_loaded, job.rows_rejected) == (2, 0)

    name = partitions.partition_name(ClaimRow, source.pk, PERIOD)
    assert name == f"ingestion_claimrow_s{source.pk}_20261001"
    assert partitions_of(ClaimRow, source) == sorted(["ingestion_claimrow_default", name])
    assert partitions_for(ClaimRow, source, PERIOD) == [name]
    assert rows_in(name, "id", "claim_reference", "total_incurred", source=source) == [
        (job.pk * 2**32 + 2, "CLM-0001", Decimal("3800.00")),
        (job.pk * 2**32 + 3, "CLM-0002", Decimal("3800.00")),
    ]
    # Claims do not touch the risk table.
    assert partitions_of(RiskRow, source) == ["ingestion_riskrow_default"]
    assert not RiskRow.objects.exists()
    assert list(
        ClaimRow.objects.filter(source=source, period=PERIOD).order_by("row_number").values_list("claim_reference")
    ) == [("CLM-0001",), ("CLM-0002",)]

    # Its natural key is unique in the partition too.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_copy(ClaimRow, into=ClaimRow._meta.db_table, of=name, where="claim_reference = 'CLM-0001'")

    # A corrected claims file updates the same partition.
    again = import_file(
        source, as_csv([claim(1, status="Closed"), claim(2)], columns=CLAIM_COLUMNS) + b"\r\n", kind="claims"
    )
    assert again.status == ImportJob.Status.SUCCEEDED, again.error
    assert partitions_for(ClaimRow, source, PERIOD) == [name]
    assert rows_in(name, "claim_reference", "claim_status", "job_id", source=source) == [
        ("CLM-0001", "Closed", again.pk),
        ("CLM-0002", "Open", again.pk),
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_all_or_nothing_import_with_a_rejected_row_leaves_no_partition(source):
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1), risk(2, currency="XYZ"), risk(3)]))
    assert job.status == ImportJob.Status.FAILED
    assert "all-or-nothing" in job.error
    assert (job.rows_loaded, job.rows_rejected) == (0, 1)

    assert not partitions.partition_exists(RiskRow, source.pk, PERIOD)
    assert partitions_of(RiskRow, source) == ["ingestion_riskrow_default"]
    assert rows_in("ingestion_riskrow_default", "id", source=source) == []
    assert not RiskRow.objects.exists()
    # Nor a working table left behind that could be mistaken for one.
    assert not table_exists(f"ingestion_typed_{job.pk}")
    assert not table_exists(f"ingestion_raw_{job.pk}")

    # Once the file is clean, the first import that loads does make the partition.
    clean = import_file(source, as_csv([risk(1), risk(2), risk(3)]))
    assert clean.status == ImportJob.Status.SUCCEEDED, clean.error
    name = partitions.partition_name(RiskRow, source.pk, PERIOD)
    assert partitions_for(RiskRow, source, PERIOD) == [name]
    assert len(rows_in(name, "id", source=source)) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_source_and_period_at_once_load_each_key_once():
    source = source_create(actor=None, name="Racing partitions cedant")
    name = partitions.partition_name(RiskRow, source.pk, PERIOD)
    # Two different files (different hashes) whose keys overlap: 1..1500 and 1001..2500.
    first_file = as_csv([risk(number) for number in range(1, 1501)])
    second_file = as_csv([risk(number, insured=f"Second {number} SAS") for number in range(1001, 2501)])
    jobs = [upload(source, first_file, name="first.csv"), upload(source, second_file, name="second.csv")]
    start = threading.Barrier(len(jobs))
    errors = {}

    def import_(job):
        try:
            start.wait(10)
            run_import(job)
        except Exception as exc:
            errors[job.pk] = exc
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=import_, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads), "an import never finished"
        assert errors == {}

        for job in jobs:
            job.refresh_from_db()
            assert job.status == ImportJob.Status.SUCCEEDED, job.error
            assert (job.rows_total, job.rows_loaded, job.rows_rejected) == (1500, 1500, 0)

        # They did run at once: each started before the other finished.
        assert max(job.started_at for job in jobs) < min(job.finished_at for job in jobs)
        stored = RiskRow.objects.filter(source=source, period=PERIOD)
        assert stored.count() == 2500
        assert stored.values(*RISK_KEY).distinct().count() == 2500
        assert set(stored.values_list("certificate_ref", flat=True)) == {
            f"CERT-{number:04d}" for number in range(1, 2501)
        }
        # The bordereau's totals, written by whichever import came second, count every row once.
        assert sum(RiskTotal.objects.filter(source=source, period=PERIOD).values_list("rows", flat=True)) == 2500
        # Each row was written by one of the two jobs; the keys only in one file came from it.
        assert set(stored.values_list("job_id", flat=True)) <= {job.pk for job in jobs}
        assert set(stored.filter(certificate_ref__lt="CERT-1001").values_list("job_id", flat=True)) == {jobs[0].pk}
        assert set(stored.filter(certificate_ref__gt="CERT-1500").values_list("job_id", flat=True)) == {jobs[1].pk}

        assert partitions_for(RiskRow, source, PERIOD) == [name]
        assert partitions_of(RiskRow, source) == sorted(["ingestion_riskrow_default", name])
        assert len(rows_in(name, "id", source=source)) == 2500
        assert rows_in("ingestion_riskrow_default", "id", source=source) == []
    finally:
        # The partition is DDL the end-of-test flush would not undo.
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_first_imports_of_two_bordereaux_finishing_together_both_become_partitions(monkeypatch):
    """Each looks at the default partition before attaching its own, and attaching locks that
    default partition: the two must not each hold what the other's attach waits for. Each waits at
    its attach (for two seconds at most) until the other has come as far as it can."""
    sources = [source_create(actor=None, name=f"Finishing together {number}") for number in (1, 2)]
    jobs = [upload(source, as_csv([risk(number) for number in range(1, 201)])) for source in sources]
    names = [partitions.partition_name(RiskRow, source.pk, PERIOD) for source in sources]
    both_ready_to_attach = threading.Barrier(2)
    attach = partitions.partition_attach

    def attach_when_both_are_ready(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is held further back, as it should be
            both_ready_to_attach.wait(2)
        return attach(*args, **kwargs)

    monkeypatch.setattr(partitions, "partition_attach", attach_when_both_are_ready)
    errors = {}

    def import_(job):
        try:
            run_import(job)
        except Exception as exc:
            errors[job.pk] = exc
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=import_, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads), "an import never finished"
        assert errors == {}
        for job in jobs:
            job.refresh_from_db()
            assert (job.status, job.rows_loaded) == (ImportJob.Status.SUCCEEDED, 200), job.error
        for source, name in zip(sources, names, strict=True):
            assert partitions_for(RiskRow, source, PERIOD) == [name]
    finally:
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
