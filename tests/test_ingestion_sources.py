"""Bordereaux pulled from cedants' REST APIs: each paginator, OAuth2 client credentials, retries,
the circuit breaker, incremental cursors, kept pages and replays, against a local cedant API
(tests/cedant_server.py). The rows go through the file imports' own validation and upsert."""

import io
import json
import logging
from datetime import date, timedelta
from email.utils import format_datetime

import pytest
import yaml
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.ingestion.models import ImportJob, RiskRow, RowError, Source
from portal.ingestion.sources.credentials import connection_secret, secret_encrypt, secret_rotate
from portal.ingestion.sources.models import SourceBreaker, SyncRun
from portal.ingestion.sources.pages import page_content, pages_purge
from portal.ingestion.sources.records import cell_text, column_texts, copy_text
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.spec import spec_parse
from portal.ingestion.sources.sync import sync_run_execute

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record
from .helpers import Sleeps, pull

PAGINATORS = ["page_number", "offset", "link_header", "json_cursor", "next_url", "single_page"]

pytestmark = pytest.mark.usefixtures("cedant_pull")


def certificates():
    return sorted(RiskRow.objects.values_list("certificate_ref", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("mode", PAGINATORS)
def test_each_paginator_brings_every_record_once(mode):
    with CedantServer([risk_record(n) for n in range(1, 8)], mode=mode) as server:
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert certificates() == [f"C{n:07d}" for n in range(1, 8)]
    assert (run.records, run.rows_loaded, run.rows_rejected) == (7, 7, 0)
    # page_number and offset end on an empty page; the others when no next page is named.
    expected_pages = {"page_number": 4, "offset": 4, "single_page": 1}.get(mode, 3)
    assert run.pages == expected_pages == run.page_set.count()
    job = ImportJob.objects.get()
    assert (job.status, job.period, job.rows_loaded, job.kind) == (
        ImportJob.Status.SUCCEEDED,
        date(2026, 10, 1),
        7,
        "risk",
    )
    row = RiskRow.objects.get(certificate_ref="C0000001")
    assert (row.country, row.insured_name, str(row.gross_premium)) == ("CO", "Insured 1 SAS", "1001.00")


@pytest.mark.django_db
def test_records_of_two_periods_become_two_bordereaux():
    records = [risk_record(1), risk_record(2, period="2026-11"), risk_record(3, period="2026-11-30")]
    with CedantServer(records) as server:
        run = pull(server)
    assert sorted(run.jobs.values_list("period", "rows_loaded")) == [(date(2026, 10, 1), 1), (date(2026, 11, 1), 2)]


@pytest.mark.django_db
def test_a_bad_client_secret_is_refused_by_the_token_endpoint_and_nothing_is_loaded(monkeypatch):
    monkeypatch.setenv("ANDINOS_SECRET", "wrong")
    with CedantServer([risk_record(1)]) as server:
        run = pull(server)
        assert server.data_requests == []
    assert run.status == SyncRun.Status.FAILED
    assert "invalid_client" in run.error
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_a_token_that_expires_mid_run_is_renewed_and_the_run_goes_on():
    with CedantServer([risk_record(n) for n in range(1, 8)], token_seconds=1) as server:
        server.faults = [None, ("slow", 1.3)]  # the second page answers after the first token died
        run = pull(server)
        assert server.token_requests >= 2
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.rows_loaded == 7


@pytest.mark.django_db
def test_a_token_revoked_early_gets_one_new_token_and_one_more_try():
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        original = server.token_valid
        calls = {"n": 0}

        def revoked_once(header):
            calls["n"] += 1
            return calls["n"] != 2 and original(header)

        server.token_valid = revoked_once
        run = pull(server)
        assert server.token_requests == 2
    assert (run.status, run.rows_loaded, run.retries) == (SyncRun.Status.SUCCEEDED, 4, 0)


@pytest.mark.django_db
def test_429_waits_as_long_as_retry_after_says_in_seconds_or_as_an_http_date():
    later = format_datetime(timezone.now() + timedelta(seconds=3), usegmt=True)
    sleeps = Sleeps()
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        server.faults = [("status", 429, {"Retry-After": "2"}), None, ("status", 429, {"Retry-After": later})]
        run = pull(server, sleeps)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.throttled, run.retries, run.rows_loaded) == (2, 2, 4)
    assert sleeps[0] >= 2
    assert sleeps[1] >= 1.5  # the date, less the time it took to get here


@pytest.mark.django_db
def test_a_burst_of_server_errors_is_retried_with_backoff():
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        server.faults = [("status", 503), ("status", 502), ("status", 500)]
        run = pull(server)
    assert (run.status, run.retries, run.rows_loaded) == (SyncRun.Status.SUCCEEDED, 3, 4)


@pytest.mark.django_db
def test_each_http_request_of_a_run_is_kept_as_an_exchange_and_shown_on_the_runs_page(client, admin_user):
    with CedantServer([risk_record(n) for n in range(1, 5)], require_token=False) as server:
        server.faults = [("status", 503), ("status", 502)]
        run = pull(server, auth={"type": "api_key", "location": "query", "name": "key", "key_env": "ANDINOS_SECRET"})
    exchanges = list(run.exchanges.values_list("page", "attempt", "method", "status_code"))
    assert exchanges == [
        (1, 1, "GET", 503),
        (1, 2, "GET", 502),
        (1, 3, "GET", 200),
        (2, 1, "GET", 200),
        (3, 1, "GET", 200),
    ]
    first_page = run.exchanges.get(page=1, attempt=3)
    assert first_page.bytes > 0 and first_page.duration_ms >= 0
    assert first_page.url.endswith("&key=[redacted]") and CLIENT_SECRET not in first_page.url

    client.force_login(admin_user)
    page = client.get(reverse("ingestion:pull_run", args=[run.pk])).content.decode()
    assert page.count('data-testid="exchange"') == 5 and CLIENT_SECRET not in page


def test_records_read_column_by_column_give_the_same_texts_as_cell_by_cell():
    values = ["a\tb", "back\\slash", None, 3, 2.5, 1e-05, True, {"nested": 1}, "línea\nnueva"]
    assert column_texts(values) == [cell_text(value) for value in values]
    for column in (["x", "y"], [1, 2], [0.5, 1e22], ["x", None]):
        assert column_texts(column) == [cell_text(value) for value in column]
    assert copy_text([7, 8], [["a\tb", "c\\d"], ["1", "e\nf"]]) == "7\t0\ta\\tb\t1\n8\t0\tc\\\\d\te\\nf\n"


@pytest.mark.django_db
def test_names_with_tabs_and_backslashes_reach_the_rows_as_they_were_sent():
    name = "Tab\there \\ Backslash SAS"
    with CedantServer([risk_record(1, insured={"name": name}), risk_record(2)]) as server:
        run = pull(server)
    assert run.rows_loaded == 2
    assert RiskRow.objects.get(certificate_ref="C0000001").insured_name == name


@pytest.mark.django_db
def test_a_token_request_is_an_exchange_of_no_page():
    with CedantServer([risk_record(1)]) as server:
        run = pull(server)
    assert list(run.exchanges.values_list("page", "method", "status_code")[:2]) == [
        (None, "POST", 200),
        (1, "GET", 200),
    ]


@pytest.mark.django_db
def test_errors_past_the_attempts_fail_the_run_and_leave_rows_and_cursor_alone():
    with CedantServer([risk_record(n) for n in range(1, 8)]) as server:
        spec = {
            "resource": {
                **server.spec()["resource"],
                "incremental": {"cursor_field": "updatedAt", "param": "updated_since"},
            }
        }
        server.faults = [None, *[("status", 503)] * 4]
        run = pull(server, **spec)
    assert run.status == SyncRun.Status.FAILED
    assert "Gave up after 4 tries" in run.error
    assert not RiskRow.objects.exists()
    assert run.connection.cursor_value == "" and run.cursor_after == ""
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED


@pytest.mark.django_db
def test_an_answer_slower_than_the_read_timeout_is_tried_again():
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        server.faults = [("slow", 1.5)]
        run = pull(server, timeout={"connect": 1, "read": 0.5})
    assert (run.status, run.retries, run.rows_loaded) == (SyncRun.Status.SUCCEEDED, 1, 4)


@pytest.mark.django_db
def test_a_malformed_json_page_is_retried_then_fails_the_run_naming_the_page():
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        server.faults = [None, *[("malformed",)] * 4]
        run = pull(server)
    assert run.status == SyncRun.Status.FAILED
    assert "is not valid JSON" in run.error and "page=2" in run.error
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_records_that_break_the_rules_are_reported_by_their_own_keys_and_the_rest_load():
    records = [
        risk_record(1),
        risk_record(2, netPremium=1.0),
        risk_record(3, expiryDate="2026-01-01"),
        risk_record(4, locRisk="Narnia", currency="XXQ"),
    ]
    with CedantServer(records) as server:
        run = pull(server)
    assert (run.records, run.rows_loaded, run.rows_rejected) == (4, 1, 3)
    errors = {(e.row_number, e.column) for e in RowError.objects.all()}
    assert {(2, "netPremium"), (3, "expiryDate"), (4, "locRisk"), (4, "currency")} <= errors


@pytest.mark.django_db
def test_the_same_record_on_two_pages_loads_once_and_the_repeat_is_reported():
    records = [risk_record(1), risk_record(2), risk_record(3), risk_record(3), risk_record(4)]
    with CedantServer(records) as server:
        run = pull(server)
    assert certificates() == ["C0000001", "C0000002", "C0000003", "C0000004"]
    error = RowError.objects.get()
    assert error.row_number == 4 and error.message.endswith("3")
    assert (run.rows_loaded, run.rows_rejected) == (4, 1)


@pytest.mark.django_db
def test_an_empty_page_in_the_middle_of_cursor_paging_does_not_end_it():
    with CedantServer([risk_record(n) for n in range(1, 8)], mode="json_cursor") as server:
        server.extra_pages = {1: []}
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert certificates() == ["C0000001", "C0000002", "C0000003", "C0000007"]
    assert run.pages == 3


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["json_cursor", "next_url", "link_header"])
def test_a_cursor_that_goes_back_to_an_earlier_page_fails_the_run_instead_of_looping(mode):
    with CedantServer([risk_record(n) for n in range(1, 8)], mode=mode) as server:
        server.faults = [None, ("repeat_cursor",)]
        run = pull(server)
    assert run.status == SyncRun.Status.FAILED
    assert "circle" in run.error
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_records_without_a_period_are_counted_and_listed_on_the_run():
    records = [risk_record(1), risk_record(2, reportingPeriod=None), risk_record(3, reportingPeriod="soon")]
    with CedantServer(records) as server:
        run = pull(server)
    assert (run.rows_loaded, run.rows_rejected) == (1, 2)
    assert [item["record"] for item in run.unplaced] == [2, 3]


@pytest.mark.django_db
def test_the_incremental_cursor_asks_for_what_changed_and_never_goes_back():
    records = [risk_record(n, updated_at=f"2026-10-0{n}T10:00:00Z") for n in range(1, 6)]
    incremental = {"cursor_field": "updatedAt", "param": "updated_since", "initial_value": "2026-01-01T00:00:00Z"}
    with CedantServer(records) as server:
        resource = {**server.spec()["resource"], "incremental": incremental}
        first = pull(server, resource=resource)
        assert server.data_requests[0][1]["updated_since"] == "2026-01-01T00:00:00Z"
        assert (first.cursor_before, first.cursor_after) == ("2026-01-01T00:00:00Z", "2026-10-05T10:00:00Z")
        server.records[1] = risk_record(2, updated_at="2026-10-07T08:00:00Z", grossPremium=2000, netPremium=1550)
        server.records.append(risk_record(9, updated_at="2026-09-30T00:00:00+00:00"))  # older than the cursor
        server.data_requests.clear()
        second = pull(server, resource=resource)
        assert server.data_requests[0][1]["updated_since"] == "2026-10-05T10:00:00Z"
    assert second.records == 2  # the changed record, and the last one again (the cursor is inclusive)
    assert second.cursor_after == "2026-10-07T08:00:00Z"
    assert str(RiskRow.objects.get(certificate_ref="C0000002").gross_premium) == "2000.00"
    assert RiskRow.objects.count() == 5


@pytest.mark.django_db
def test_the_circuit_breaker_opens_for_every_later_run_until_its_cooldown(settings):
    settings.AMPARO_INGESTION_BREAKER_FAILURES = 3
    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 503)] * 10
        first = pull(server)
        assert first.status == SyncRun.Status.FAILED and first.breaker_trips == 1
        assert "circuit breaker" in first.error
        asked = len(server.data_requests)
        second = pull(server)
        assert len(server.data_requests) == asked  # nobody called the dead service
    assert second.status == SyncRun.Status.FAILED and "circuit breaker" in second.error
    assert SourceBreaker.objects.get().state == "open"


@pytest.mark.django_db
def test_a_run_can_be_replayed_from_its_kept_pages_without_calling_the_source():
    with CedantServer([risk_record(n) for n in range(1, 8)], mode="next_url") as server:
        first = pull(server)
        asked = len(server.data_requests)
        RiskRow.objects.all().delete()
        replay = sync_run_start(actor=None, connection=first.connection, replay_of=first, enqueue=False)
        replay = sync_run_execute(run_id=replay.pk)
        assert len(server.data_requests) == asked
    assert (replay.status, replay.rows_loaded, replay.pages) == (SyncRun.Status.SUCCEEDED, 7, 3)
    page = first.page_set.first()
    assert json.loads(page_content(page))["data"][0]["certificateRef"] == "C0000001"
    assert "sig=[redacted]" in first.page_set.last().url


@pytest.mark.django_db
def test_kept_pages_are_deleted_after_the_retention(settings):
    with CedantServer([risk_record(1)]) as server:
        run = pull(server)
    assert run.exchanges.exists()
    assert pages_purge(now=timezone.now() + timedelta(days=settings.AMPARO_INGESTION_PAGE_RETENTION_DAYS + 1)) == 2
    assert not run.page_set.exclude(stored_name="").exists()
    assert not run.exchanges.exists()
    with pytest.raises(ValidationError):
        sync_run_start(actor=None, connection=run.connection, replay_of=run, enqueue=False)


@pytest.mark.django_db
def test_a_web_service_row_and_a_file_row_are_the_same_row(tmp_path):
    csv = (
        "UMR,Certificate Ref,Insured Full Name or Company Name,Risk Inception Date,Risk Expiry Date,"
        "Location of Risk Country,Original Currency,Sum Insured,Gross Premium,Commission %,Total Taxes,"
        "Net Premium,Class of Business,Transaction Type\r\n"
        "B0999R012026,C0000001,Insured 1 SAS,01/10/2026,30/09/2027,CO,USD,1001000.00,1001.00,20,50.00,750.80,"
        "Property,New\r\n"
    )
    path = tmp_path / "october.csv"
    path.write_text(csv)
    call_command(
        "import_bordereau", str(path), "--source", "Seguros Andinos API", "--period", "2026-10", stdout=io.StringIO()
    )
    file_row = RiskRow.objects.get()
    with CedantServer([risk_record(1, grossPremium=1200, netPremium=910)]) as server:
        run = pull(server)
    assert run.rows_loaded == 1
    row = RiskRow.objects.get()
    assert row.pk == file_row.pk or (row.certificate_ref, row.umr) == (file_row.certificate_ref, file_row.umr)
    assert str(row.gross_premium) == "1200.00"
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_logs_show_addresses_and_headers_through_an_allowlist(caplog):
    caplog.set_level(logging.INFO, logger="portal.ingestion.sources.client")
    with CedantServer([risk_record(n) for n in range(1, 8)], mode="next_url") as server:
        pull(server)
    text = caplog.text
    assert "sig=[redacted]" in text and "sig=xyz" not in text
    assert CLIENT_SECRET not in text
    assert "access_token" not in text and "Bearer" not in text


def test_the_issue_spec_loads_and_a_broken_one_says_where():
    spec = spec_parse(
        """
name: Seguros Andinos API
kind: risk
base_url: https://api.cedant.example
auth:
  type: oauth2_client_credentials
  token_url: https://api.cedant.example/oauth/token
  client_id: amparo
  client_secret_env: ANDINOS_SECRET
  scope: bordereaux.read
resource:
  path: /v1/risks
  params: {page_size: 500}
  records: data
  paginator:
    type: link_header
  incremental:
    cursor_field: updated_at
    param: updated_since
    initial_value: "2026-01-01T00:00:00Z"
period: {field: reporting_period}
mapping:
  riskCountry: Location of Risk Country
rate_limit: {requests: 20, per: second}
timeout: {connect: 5, read: 30}
retry: {attempts: 6}
"""
    )
    assert spec["resource"]["paginator"]["type"] == "link_header"
    with pytest.raises(ValidationError) as refused:
        spec_parse(
            '{"name": "X", "kind": "life", "base_url": "ftp://x", '
            '"resource": {"path": "v1", "paginator": {"type": "offset", "cursor": 1}}}'
        )
    text = " ".join(refused.value.messages)
    assert "kind" in text and "base_url" in text and "resource.path" in text and "resource.paginator" in text


def test_a_typed_secret_is_kept_encrypted_and_survives_a_key_rotation(settings):
    old = settings.AMPARO_INGESTION_SECRET_KEYS
    token = secret_encrypt("typed-secret")
    assert "typed-secret" not in token
    spec = {"auth": {"type": "bearer"}}
    settings.AMPARO_INGESTION_SECRET_KEYS = f"{Fernet.generate_key().decode()},{old}"
    assert connection_secret(spec, token) == "typed-secret"
    rotated = secret_rotate(token)
    settings.AMPARO_INGESTION_SECRET_KEYS = settings.AMPARO_INGESTION_SECRET_KEYS.split(",")[0]
    assert connection_secret(spec, rotated) == "typed-secret"


@pytest.mark.django_db
def test_the_commands_load_a_spec_and_print_one_json_line_per_pull(tmp_path):
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        path = tmp_path / "andinos.json"
        path.write_text(json.dumps(server.spec()))
        out = io.StringIO()
        call_command("ingestion_source_load", str(path), stdout=out)
        assert json.loads(out.getvalue())["source"] == "Seguros Andinos API"
        out = io.StringIO()
        call_command("ingestion_source_sync", "Seguros Andinos API", stdout=out)
    line = json.loads(out.getvalue())
    assert {"records", "rows_loaded", "rows_rejected", "pages", "retries", "seconds"} <= set(line)
    assert (line["records"], line["rows_loaded"], line["pages"]) == (4, 4, 3)


@pytest.mark.django_db
def test_a_source_is_pulled_by_one_run_at_a_time():
    with CedantServer([risk_record(1)]) as server:
        connection = source_connection_load(actor=None, spec=server.spec())
        sync_run_start(actor=None, connection=connection, enqueue=False)
        with pytest.raises(ValidationError, match="already being pulled"):
            sync_run_start(actor=None, connection=connection, enqueue=False)


@pytest.mark.django_db
def test_an_administrator_edits_the_spec_with_a_write_only_secret_and_tests_the_connection(admin_client):
    from portal.ingestion.sources.models import SourceConnection

    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        spec = server.spec()
        spec["auth"] = {k: v for k, v in spec["auth"].items() if k != "client_secret_env"}
        answer = admin_client.post(
            "/admin/ingestion/sourceconnection/add/",
            {"spec_text": yaml.safe_dump(spec), "secret": CLIENT_SECRET, "enabled": "on"},
        )
        assert answer.status_code == 302, answer.content.decode()[:3000]
        connection = SourceConnection.objects.get()
        assert connection.secret_encrypted and CLIENT_SECRET not in connection.secret_encrypted
        page = admin_client.get(f"/admin/ingestion/sourceconnection/{connection.pk}/change/").content.decode()
        assert CLIENT_SECRET not in page
        answer = admin_client.post(
            "/admin/ingestion/sourceconnection/",
            {"action": "test_connection", "_selected_action": [connection.pk]},
            follow=True,
        )
        assert "Connected: 3 records on the first page" in answer.content.decode()
        broken = admin_client.post(
            f"/admin/ingestion/sourceconnection/{connection.pk}/change/",
            {"spec_text": "name: X\nkind: life\n", "enabled": "on"},
        )
        assert broken.status_code == 200 and "kind" in broken.content.decode()
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_a_scheduled_source_is_queued_when_its_cron_line_matches(django_capture_on_commit_callbacks):
    from portal.ingestion.sources.services import sync_runs_due

    with CedantServer([risk_record(1)]) as server:
        source_connection_load(actor=None, spec=server.spec(schedule="*/15 * * * *"))
        with pytest.raises(ValidationError):
            source_connection_load(actor=None, spec=server.spec(name="Other", schedule="every day"))
    at = timezone.localtime().replace(minute=30)
    assert sync_runs_due(now=at) == 1
    assert sync_runs_due(now=at) == 0  # still queued from the last time
    assert sync_runs_due(now=at.replace(minute=31)) == 0


@pytest.mark.django_db
def test_the_demo_has_a_disabled_web_source_whose_pull_names_the_missing_secret(monkeypatch):
    from portal.accounts.models import Role
    from portal.ingestion.demo import DEMO_WEB_SOURCE, seed_demo_bordereaux
    from portal.ingestion.sources.models import SourceConnection

    from .factories import UserFactory

    monkeypatch.delenv("ANDINOS_SECRET")
    UserFactory(role=Role.ADMIN, email_primary="admin@amparo.demo")
    UserFactory(role=Role.FINANCE, email_primary="finance@amparo.demo")
    seed_demo_bordereaux()
    seed_demo_bordereaux()
    connection = SourceConnection.objects.get(source__name=DEMO_WEB_SOURCE)
    assert not connection.enabled and connection.schedule == "0 6 * * *"
    run = sync_run_execute(run_id=sync_run_start(actor=None, connection=connection, enqueue=False).pk)
    assert run.status == SyncRun.Status.FAILED and "ANDINOS_SECRET" in run.error


@pytest.mark.django_db
def test_a_pull_cancelled_while_it_runs_stops_at_its_next_page_and_loads_nothing():
    from portal.ingestion.sources import sync

    with CedantServer([risk_record(n) for n in range(1, 10)]) as server:
        connection = source_connection_load(actor=None, spec=server.spec())
        run = sync_run_start(actor=None, connection=connection, enqueue=False)
        original = sync._Staging.add

        def add_then_cancel(staging, number, records):
            original(staging, number, records)
            SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)

        sync._Staging.add = add_then_cancel
        try:
            run = sync_run_execute(run_id=run.pk)
        finally:
            sync._Staging.add = original
    assert run.status == SyncRun.Status.CANCELLED
    assert run.pages == 1
    assert not RiskRow.objects.exists()
    assert ImportJob.objects.get().status == ImportJob.Status.CANCELLED
