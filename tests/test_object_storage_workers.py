"""Bordereau and report files on S3-compatible object storage (a local moto server speaking S3 over
HTTP): uploads and generated reports land in the private bucket, the worker reads a bordereau from
there, a download is a signed redirect handed out only after the permission check, and files leave
the bucket when they are refused or expire; a pull's raw pages too. No worker node needs a shared disk."""

import hashlib
import json
from datetime import timedelta

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.ingestion.models import ImportJob, RiskRow
from portal.ingestion.sources.models import SyncRun
from portal.ingestion.sources.pages import page_content, pages_purge
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.sync import sync_run_execute
from portal.reports.models import ReportRun
from portal.reports.services import report_run_request, report_runs_expire

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record
from .factories import issue_policy
from .helpers import as_upload, file_with_errors, risk_file, signed_in, stored_files, valid_rows
from .s3_server import BUCKET

pytestmark = pytest.mark.django_db


def bordereau_key(job):
    return f"amparo/bordereaux/{job.stored_name[:2]}/{job.stored_name}"


def report_key(run):
    return f"amparo/reports/{run.stored_name[:2]}/{run.stored_name}"


def upload_bordereau(client, django_capture_on_commit_callbacks, content):
    data = {"new_source": "Reaseguros Andinos S.A.", "kind": "risk", "period": "2026-10", "file": as_upload(content)}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("ingestion:upload"), data)


def run_report(actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = report_run_request(report_name="premium_production", fmt="csv", parameters={}, actor=actor)
    run.refresh_from_db()
    return run


@pytest.fixture
def book(agent):
    return [issue_policy(actor=agent, agent=agent), issue_policy(actor=agent, agent=agent, sum_insured="200000000")]


def test_an_upload_on_object_storage_is_imported_end_to_end_by_the_worker_from_the_bucket(
    on_s3, private_root, client, finance_user, django_capture_on_commit_callbacks
):
    content = file_with_errors()
    signed_in(client, finance_user)
    upload_bordereau(client, django_capture_on_commit_callbacks, content)

    job = ImportJob.objects.get()
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 6, 6)
    assert RiskRow.objects.filter(source=job.source).count() == 6
    assert on_s3.client().get_object(Bucket=BUCKET, Key=bordereau_key(job))["Body"].read() == content
    assert stored_files(private_root) == []


def test_a_bordereau_download_is_a_signed_redirect_only_after_the_permission_check(
    on_s3, client, finance_user, agent, django_capture_on_commit_callbacks
):
    content = risk_file(valid_rows(3))
    signed_in(client, finance_user)
    upload_bordereau(client, django_capture_on_commit_callbacks, content)
    job = ImportJob.objects.get()

    response = client.get(reverse("ingestion:job_file", args=[job.pk]))
    assert response.status_code == 302 and response["Location"].startswith(on_s3.endpoint)
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == content
    assert 'filename="bordereau-2026-10.csv"' in fetched.headers["Content-Disposition"]

    signed_in(client, agent)
    refused = client.get(reverse("ingestion:job_file", args=[job.pk]))
    assert refused.status_code in (403, 404) and "Location" not in refused


def test_a_bordereau_the_import_command_refuses_is_deleted_from_the_bucket(on_s3, tmp_path):
    path = tmp_path / "missing-required-columns.csv"
    path.write_bytes(b"UMR;Certificate Ref;Insured Full Name\r\nB0001;C-1;Ana Rojas\r\n")
    before = set(on_s3.object_keys())
    with pytest.raises(SystemExit):
        call_command("import_bordereau", str(path), source="Strict cedant", period="2026-10")
    assert not ImportJob.objects.exists()
    assert set(on_s3.object_keys()) == before


def test_a_report_file_lands_in_the_bucket_with_its_checksum_and_not_on_local_disk(
    on_s3, private_root, book, finance_user, django_capture_on_commit_callbacks
):
    run = run_report(finance_user, django_capture_on_commit_callbacks)

    assert run.status == ReportRun.Status.SUCCEEDED
    stored = on_s3.client().get_object(Bucket=BUCKET, Key=report_key(run))["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == run.sha256 and len(stored) == run.size_bytes
    assert stored_files(private_root) == []


def test_a_report_download_is_a_signed_redirect_only_after_the_permission_check(
    on_s3, client, book, finance_user, agent, django_capture_on_commit_callbacks
):
    run = run_report(finance_user, django_capture_on_commit_callbacks)

    signed_in(client, agent)
    refused = client.get(reverse("reports:run_download", args=[run.pk]))
    assert refused.status_code == 404 and "Location" not in refused

    signed_in(client, finance_user)
    response = client.get(reverse("reports:run_download", args=[run.pk]))
    assert response.status_code == 302 and response["Location"].startswith(on_s3.endpoint)
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == run.sha256
    assert fetched.headers["Content-Type"].startswith("text/csv")


def test_an_expired_report_leaves_the_bucket(on_s3, book, finance_user, django_capture_on_commit_callbacks):
    run = run_report(finance_user, django_capture_on_commit_callbacks)
    key = report_key(run)
    assert key in on_s3.object_keys()

    with django_capture_on_commit_callbacks(execute=True):
        assert report_runs_expire(now=run.expires_at + timedelta(seconds=1)) == 1

    assert key not in on_s3.object_keys()


def test_the_report_command_copies_its_file_out_of_the_bucket(on_s3, book, tmp_path):
    output = tmp_path / "production.csv"
    call_command("report_run", "premium_production", "--format", "csv", "--output", str(output))
    run = ReportRun.objects.get()
    assert hashlib.sha256(output.read_bytes()).hexdigest() == run.sha256
    assert report_key(run) in on_s3.object_keys()


def test_a_pulls_pages_are_kept_in_the_bucket_replayed_from_it_and_purged_from_it(
    on_s3, private_root, settings, monkeypatch
):
    from portal.ingestion.sources import client

    settings.AMPARO_INGESTION_RETRY_BASE_SECONDS = 0.01
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    monkeypatch.setenv("ANDINOS_SECRET", CLIENT_SECRET)
    client._tokens.clear()
    with CedantServer([risk_record(n) for n in range(1, 8)], mode="next_url") as server:
        connection = source_connection_load(actor=None, spec=server.spec())
        first = sync_run_execute(run_id=sync_run_start(actor=None, connection=connection, enqueue=False).pk)
        asked = len(server.data_requests)
        replay = sync_run_start(actor=None, connection=connection, replay_of=first, enqueue=False)
        replay = sync_run_execute(run_id=replay.pk)
        assert len(server.data_requests) == asked
    assert (replay.status, replay.pages) == (SyncRun.Status.SUCCEEDED, 3)
    names = first.page_set.values_list("stored_name", flat=True)
    keys = {f"amparo/bordereaux/pages/{name[:2]}/{name}" for name in names}
    assert len(keys) == 3 and keys <= set(on_s3.object_keys())
    assert json.loads(page_content(first.page_set.first()))["data"][0]["certificateRef"] == "C0000001"
    assert stored_files(private_root) == []

    pages_purge(now=timezone.now() + timedelta(days=settings.AMPARO_INGESTION_PAGE_RETENTION_DAYS + 1))

    assert not [key for key in on_s3.object_keys() if key.startswith("amparo/bordereaux/pages/")]
