"""A source's incremental cursor advances only over what was loaded: when an all-or-nothing profile
refuses a pull, or records come without a period, it stays where it was, so that those records are
asked for again on the next run (against the local cedant API, tests/cedant_server.py)."""

import pytest
from cryptography.fernet import Fernet

from portal.ingestion.models import ImportJob, MappingProfile, RiskRow
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.sync import sync_run_execute

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record

pytestmark = pytest.mark.django_db

INCREMENTAL = {"cursor_field": "updatedAt", "param": "updated_since", "initial_value": "2026-01-01T00:00:00Z"}


@pytest.fixture(autouse=True)
def private(settings, tmp_path, monkeypatch):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    monkeypatch.setenv("ANDINOS_SECRET", CLIENT_SECRET)
    from portal.ingestion.sources import client

    client._tokens.clear()


def connected(server):
    spec = server.spec()
    return source_connection_load(
        actor=None, spec={**spec, "resource": {**spec["resource"], "incremental": INCREMENTAL}}
    )


def pull(server):
    run = sync_run_start(actor=None, connection=connected(server), enqueue=False)
    return sync_run_execute(run_id=run.pk, sleep=lambda seconds: None)


def test_a_pull_refused_by_an_all_or_nothing_profile_keeps_the_cursor_and_asks_again_next_time():
    records = [risk_record(n, updated_at=f"2026-10-0{n}T10:00:00Z") for n in range(1, 4)]
    records[1] = risk_record(2, updated_at="2026-10-02T10:00:00Z", netPremium=1.0)
    with CedantServer(records) as server:
        MappingProfile.objects.create(source=connected(server).source, kind="risk", all_or_nothing=True)
        refused = pull(server)
        assert refused.jobs.get().status == ImportJob.Status.FAILED
        server.records[1] = risk_record(2, updated_at="2026-10-02T10:00:00Z")
        server.data_requests.clear()
        fixed = pull(server)
        assert server.data_requests[0][1]["updated_since"] == INCREMENTAL["initial_value"]
    assert refused.cursor_after == refused.cursor_before == INCREMENTAL["initial_value"]
    assert fixed.cursor_after == "2026-10-03T10:00:00Z" and RiskRow.objects.count() == 3


def test_records_without_a_period_keep_the_cursor_where_it_was():
    records = [
        risk_record(1, updated_at="2026-10-01T10:00:00Z"),
        risk_record(2, updated_at="2026-10-02T10:00:00Z", reportingPeriod=None),
    ]
    with CedantServer(records) as server:
        run = pull(server)
    assert run.rows_loaded == 1 and run.unplaced
    assert run.cursor_after == run.cursor_before == INCREMENTAL["initial_value"]
    assert run.connection.cursor_value == INCREMENTAL["initial_value"]
