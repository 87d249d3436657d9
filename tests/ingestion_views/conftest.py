"""The bordereau pages' fixtures: a source as a cedant is named, a finished import with errors, an import
waiting for its column mapping, one waiting for the worker. Every test keeps its files under its own
temporary folder.

Huey runs in immediate mode here, and the import is queued on commit: wrapping a request in
`django_capture_on_commit_callbacks(execute=True)` runs the whole import inside that request.
"""

from datetime import date

import pytest

from portal.ingestion import services
from portal.ingestion.fields import Kind
from portal.ingestion.models import ImportJob, Source

from ..helpers import UNUSUAL_HEADERS, as_upload, file_with_errors, risk_file, valid_rows


@pytest.fixture(autouse=True)
def private_root(private_root):
    return private_root


@pytest.fixture
def source(db):
    return Source.objects.create(name="Reaseguros Andinos S.A.")


@pytest.fixture
def imported(django_capture_on_commit_callbacks, source, finance_user):
    """A finished import of `file_with_errors()`: 6 rows loaded, 6 rejected."""
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_create(
            actor=finance_user,
            source=source,
            kind=Kind.RISK,
            period=date(2026, 10, 1),
            upload=as_upload(file_with_errors()),
            original_name="andinos-2026-10.csv",
        )
    job.refresh_from_db()
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 6, 6), job.error
    return job


@pytest.fixture
def mapping_job(source, finance_user):
    """A file whose certificate, insured and date columns are not recognised: it waits for a mapping."""
    job = services.import_job_create(
        actor=finance_user,
        source=source,
        kind=Kind.RISK,
        period=date(2026, 10, 1),
        upload=as_upload(risk_file(valid_rows(4), headers=UNUSUAL_HEADERS), name="unusual.csv"),
        original_name="unusual.csv",
    )
    assert job.status == ImportJob.Status.MAPPING
    return job


@pytest.fixture
def queued_job(finance_user, source):
    """An import waiting for the worker."""
    return services.import_job_create(
        actor=finance_user,
        source=source,
        kind=Kind.RISK,
        period=date(2026, 10, 1),
        upload=as_upload(file_with_errors()),
        original_name="queued.csv",
        enqueue=False,
    )
