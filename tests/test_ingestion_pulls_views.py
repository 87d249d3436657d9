"""The portal's page of web-service sources and their pulls: who sees it, who starts and cancels a
pull, and the HTMX partial that keeps a running pull's progress live."""

from datetime import date

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.ingestion.models import ImportJob
from portal.ingestion.sources.models import SyncRun
from portal.ingestion.sources.services import source_connection_load, sync_run_start

from .factories import UserFactory

pytestmark = pytest.mark.django_db

SPEC = {
    "name": "Seguros Andinos API",
    "kind": "risk",
    "base_url": "http://127.0.0.1:9",
    "auth": {"type": "none"},
    "resource": {"path": "/v1/risks", "records": "data", "paginator": {"type": "single_page"}},
    "period": {"value": "2026-10"},
    "schedule": "0 6 * * *",
}


@pytest.fixture
def connection():
    return source_connection_load(actor=None, spec=SPEC)


def signed_in(client, role):
    client.force_login(UserFactory(role=role))
    return client


@pytest.mark.parametrize(
    ("role", "sees", "starts"),
    [
        (Role.ADMIN, True, True),
        (Role.FINANCE, True, False),
        (Role.INTERVENTORIA, True, False),
        (Role.SUPERVISOR, False, False),
        (Role.AGENT, False, False),
    ],
)
def test_who_sees_the_pulls_and_who_starts_one(
    client, connection, role, sees, starts, django_capture_on_commit_callbacks
):
    client = signed_in(client, role)
    page = client.get(reverse("ingestion:pulls"))
    assert page.status_code == (200 if sees else 403)
    if sees:
        body = page.content.decode()
        assert "Seguros Andinos API" in body and "0 6 * * *" in body
        assert ('data-testid="pull-now"' in body) is starts
    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(reverse("ingestion:pull_start", args=[connection.pk]))
    assert answer.status_code == (302 if starts else 403)
    assert SyncRun.objects.filter(connection=connection).exists() is starts


def test_a_running_pull_is_polled_and_its_partial_shows_its_figures(client, connection):
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.RUNNING, pages=12, records=12000, retries=2)
    client = signed_in(client, Role.FINANCE)
    body = client.get(reverse("ingestion:pulls")).content.decode()
    assert 'hx-trigger="every 2s"' in body
    partial = client.get(reverse("ingestion:pulls"), headers={"HX-Request": "true", "HX-Target": "pull-runs"})
    text = partial.content.decode()
    assert "12,000" in text or "12.000" in text
    assert "<h1" not in text and 'id="pull-runs"' in text
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED)
    done = client.get(reverse("ingestion:pulls"), headers={"HX-Request": "true", "HX-Target": "pull-runs"})
    assert "every 2s" not in done.content.decode()


def test_an_administrator_cancels_a_pull_and_finance_cannot(client, connection):
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    assert signed_in(client, Role.FINANCE).post(reverse("ingestion:pull_cancel", args=[run.pk])).status_code == 403
    client.logout()
    answer = signed_in(client, Role.ADMIN).post(reverse("ingestion:pull_cancel", args=[run.pk]))
    assert answer.status_code == 302
    run.refresh_from_db()
    assert run.status == SyncRun.Status.CANCELLED
    again = client.post(reverse("ingestion:pull_cancel", args=[run.pk]), follow=True)
    assert "already finished" in again.content.decode()


def test_a_second_pull_of_the_same_source_is_refused_with_a_message(client, connection):
    sync_run_start(actor=None, connection=connection, enqueue=False)
    answer = signed_in(client, Role.ADMIN).post(reverse("ingestion:pull_start", args=[connection.pk]), follow=True)
    assert "already being pulled" in answer.content.decode()
    assert SyncRun.objects.count() == 1


def test_a_failed_web_service_import_offers_no_run_again_and_the_retry_is_refused(client, connection):
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    job = ImportJob.objects.create(
        source=connection.source,
        kind="risk",
        period=date(2026, 10, 1),
        stored_name=f"api-run{run.pk}-202610",
        original_name="Seguros Andinos API, run",
        sha256="a" * 64,
        status=ImportJob.Status.FAILED,
        error="The source answered 503.",
    )
    run.jobs.add(job)
    client = signed_in(client, Role.ADMIN)

    page = client.get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
    assert 'data-testid="retry-job"' not in page
    answer = client.post(reverse("ingestion:job_retry", args=[job.pk]), follow=True)
    assert "pull the source again" in answer.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_a_failed_file_import_still_offers_run_again(client, connection):
    job = ImportJob.objects.create(
        source=connection.source,
        kind="risk",
        period=date(2026, 10, 1),
        stored_name="file-upload-1",
        original_name="risks.csv",
        sha256="b" * 64,
        status=ImportJob.Status.FAILED,
    )
    page = signed_in(client, Role.ADMIN).get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
    assert 'data-testid="retry-job"' in page
