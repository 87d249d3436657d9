"""A record key that no record of the first page has (APIs leave out a key whose value is empty) is
staged from the page that first has it on; the rows before it have that cell empty (taxes nil, the
transaction dated at inception, as for an empty cell of a file). A later key that
reads as a field another key already feeds is refused, as on the first page."""

from datetime import date
from decimal import Decimal

import pytest

from portal.ingestion.models import ImportJob, RiskRow, RowError
from portal.ingestion.sources.models import SyncRun
from portal.ingestion.sources.services import sync_run_start
from portal.ingestion.sources.sync import sync_run_execute

from .cedant_server import CedantServer, risk_record
from .helpers import pull

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cedant_pull")]


def without_taxes(number, **changes):
    """A record whose taxes are nil, as an API that leaves out empty keys sends it."""
    record = risk_record(number, netPremium=float(Decimal(1000 + number) * Decimal("0.8")), **changes)
    del record["totalTaxes"]
    return record


def rows(*fields):
    return list(RiskRow.objects.order_by("certificate_ref").values_list("certificate_ref", *fields))


def month(number):
    return "2026-09" if number % 2 else "2026-10"


def test_a_top_level_key_first_seen_on_page_two_is_loaded_from_that_page_on_in_every_period():
    records = [without_taxes(n, period=month(n)) for n in range(1, 4)]
    records += [risk_record(n, period=month(n)) for n in range(4, 7)]
    with CedantServer(records) as server:
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.rows_loaded, run.rows_rejected) == (6, 0)
    assert not RowError.objects.exists()
    assert rows("total_taxes") == [(f"C{n:07d}", Decimal(0 if n < 4 else 50)) for n in range(1, 7)]
    assert [job.layout["headers"][-1] for job in ImportJob.objects.all()] == ["totalTaxes", "totalTaxes"]


def test_a_nested_key_first_seen_on_page_three_is_loaded_from_that_page_on():
    records = [risk_record(n, transaction={"id": f"T{n}"}) for n in range(1, 7)]
    records += [risk_record(n, transaction={"id": f"T{n}", "effectiveDate": "2026-10-05"}) for n in range(7, 10)]
    with CedantServer(records) as server:
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.rows_loaded, run.rows_rejected) == (9, 0)
    assert rows("transaction_date") == [(f"C{n:07d}", date(2026, 10, 1 if n < 7 else 5)) for n in range(1, 10)]


def test_a_nested_object_first_seen_on_a_later_page_is_loaded_from_that_page_on():
    records = [risk_record(n) for n in range(1, 4)]
    records += [risk_record(n, transaction={"effectiveDate": "2026-10-05"}) for n in range(4, 7)]
    with CedantServer(records) as server:
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert rows("transaction_date") == [(f"C{n:07d}", date(2026, 10, 1 if n < 4 else 5)) for n in range(1, 7)]


def test_a_later_key_that_reads_as_a_field_already_fed_fails_the_run_naming_both_keys():
    records = [risk_record(n) for n in range(1, 4)] + [risk_record(n, taxes=50) for n in range(4, 7)]
    with CedantServer(records) as server:
        run = pull(server)
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Two record keys both read as total_taxes (totalTaxes and taxes): map one of them in the spec."
    assert not RiskRow.objects.exists()


def test_a_replay_of_a_run_with_a_later_key_loads_the_same_rows():
    records = [without_taxes(n) for n in range(1, 4)] + [risk_record(n) for n in range(4, 8)]
    with CedantServer(records) as server:
        first = pull(server)
        loaded = rows("total_taxes", "net_premium")
        RiskRow.objects.all().delete()
        replay = sync_run_start(actor=None, connection=first.connection, replay_of=first, enqueue=False)
        replay = sync_run_execute(run_id=replay.pk)
    assert (replay.status, replay.rows_loaded, replay.rows_rejected) == (SyncRun.Status.SUCCEEDED, 7, 0)
    assert rows("total_taxes", "net_premium") == loaded
    assert loaded[-1] == ("C0000007", Decimal("50.00"), Decimal("755.60"))
