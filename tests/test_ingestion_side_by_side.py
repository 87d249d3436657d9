"""Outside a transaction (as in the worker and the command line) an import on PostgreSQL groups
the distinct values of its fields and looks for duplicate keys on connections of their own, at
the same time as its other work. The results must be those of the one-connection path that the
rest of the suite takes inside its test transactions."""

import pytest
from django.db import connection

from portal.ingestion import concurrently, partitions
from portal.ingestion.models import RiskRow
from portal.ingestion.services import source_create

from .helpers import PERIOD, as_csv, errors_of, import_file
from .ingestion_rows import risk_values as risk

pytestmark = pytest.mark.usefixtures("private_root")


def messy_file():
    """Good rows, bad cells, a broken rule and repeated keys, in a few hundred rows."""
    rows = []
    for number in range(1, 301):
        if number % 50 == 0:
            rows.append(risk(number - 1, insured=f"Repeat of {number - 1}"))  # the key of the row above
        elif number % 37 == 0:
            rows.append(risk(number, currency="XYZ", inception="31/02/2026"))
        elif number % 41 == 0:
            rows.append(risk(number, net="1.00"))
        else:
            rows.append(risk(number))
    return as_csv(rows)


def outcome(job):
    stored = sorted(RiskRow.objects.filter(job=job).values_list("row_number", "certificate_ref", "insured_name"))
    return (job.status, job.rows_total, job.rows_loaded, job.rows_rejected), errors_of(job), stored


def import_once(name):
    source = source_create(actor=None, name=name)
    try:
        return outcome(import_file(source, messy_file()))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partitions.partition_name(RiskRow, source.pk, PERIOD)}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_outside_a_transaction_works_beside_itself_with_the_results_of_one_connection(monkeypatch):
    assert concurrently._may_run_beside()
    beside = import_once("Side by side cedant")
    monkeypatch.setattr(concurrently, "_may_run_beside", lambda: False)
    alone = import_once("One connection cedant")

    assert beside == alone
    counts, errors, stored = beside
    # 8 rows with two bad cells, 7 with a net premium that breaks the rule, 6 repeated keys.
    assert counts == ("SUCCEEDED", 300, 279, 21)
    key = "UMR + Certificate Ref + Transaction Type"
    # Entry n (line n + 1) repeats entry n - 1, which is on line n.
    repeats = [(number + 1, key, f"Same key as row {number}") for number in range(50, 301, 50)]
    assert [error for error in errors if error[1] == key] == repeats
    assert sum(1 for _row, _column, message in errors if message.startswith("Should be gross")) == 7
    assert len(stored) == 279
    assert "Repeat of 49" not in {insured for _row, _certificate, insured in stored}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_side_by_side_returns_each_result_in_order_and_raises_what_a_call_raised():
    def failing():
        raise ValueError("from the other connection")

    assert concurrently.side_by_side(lambda: 1, lambda: 2, lambda: 3) == [1, 2, 3]
    with pytest.raises(ValueError, match="from the other connection"):
        concurrently.side_by_side(lambda: 1, failing)
