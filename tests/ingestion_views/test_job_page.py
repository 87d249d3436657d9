"""The job page: its error report and HTMX filter, the progress poll, cancel and retry."""

from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.ingestion.models import ImportJob, RiskRow, RowError

from ..helpers import BAD_ROWS, HTMX, signed_in


def error_rows_in(body):
    return body.count("<tr") - 1  # minus the header row


def test_the_error_report_answers_an_htmx_filter_with_only_the_matching_errors(client, auditor, imported):
    signed_in(client, auditor)
    url = reverse("ingestion:job_detail", args=[imported.pk])
    response = client.get(url, {"message": "iso 4217"}, headers={**HTMX, "HX-Target": "results"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="job-progress"' not in body
    assert error_rows_in(body) == 2
    assert "ZZZ" in body
    assert "Not a date" not in body

    by_column = client.get(url, {"column": "net premium"}, headers=HTMX).content.decode()
    assert error_rows_in(by_column) == 1
    assert "Should be gross - commission - taxes = 850.00" in by_column

    nothing = client.get(url, {"message": "no such message"}, headers=HTMX).content.decode()
    assert "No errors match these filters." in nothing


def test_the_job_page_lists_every_rejected_row_with_its_number_column_value_and_message(client, auditor, imported):
    signed_in(client, auditor)
    body = client.get(reverse("ingestion:job_detail", args=[imported.pk])).content.decode()
    assert "<html" in body
    assert 'data-testid="error-report"' in body
    errors = list(RowError.objects.filter(job=imported).values_list("row_number", "column", "value", "message"))
    assert [row for row, *_ in errors] == [index + 3 for index in sorted(BAD_ROWS)]
    for (row, column, value, message), index in zip(errors, sorted(BAD_ROWS), strict=True):
        _cells, want_column, want_value, want_message = BAD_ROWS[index]
        assert (row, column, value) == (index + 3, want_column, want_value)
        assert message.startswith(want_message)


def test_the_progress_poll_answers_the_progress_partial_while_the_job_runs(client, auditor, imported):
    ImportJob.objects.filter(pk=imported.pk).update(status=ImportJob.Status.RUNNING, progress=42, rows_total=5000)
    signed_in(client, auditor)
    response = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]),
        {"was_active": "1"},
        headers={**HTMX, "HX-Target": "job-progress"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "HX-Refresh" not in response.headers
    assert "<html" not in body
    assert 'id="job-progress"' in body
    assert 'aria-valuenow="42"' in body
    assert 'hx-trigger="every 1s"' in body
    assert 'data-testid="error-report"' not in body


def test_the_progress_poll_asks_for_a_refresh_once_the_job_it_saw_running_has_ended(client, auditor, imported):
    signed_in(client, auditor)
    response = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]),
        {"was_active": "1"},
        headers={**HTMX, "HX-Target": "job-progress"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Refresh"] == "true"


def test_a_finished_job_page_does_not_poll_any_more(client, auditor, imported):
    signed_in(client, auditor)
    body = client.get(reverse("ingestion:job_detail", args=[imported.pk])).content.decode()
    assert 'aria-valuenow="100"' in body
    assert "every 1s" not in body
    partial = client.get(
        reverse("ingestion:job_detail", args=[imported.pk]), headers={**HTMX, "HX-Target": "job-progress"}
    )
    assert "HX-Refresh" not in partial.headers
    assert "every 1s" not in partial.content.decode()


def test_a_queued_job_page_polls_its_progress_every_second(client, finance_user, queued_job):
    signed_in(client, finance_user)
    body = client.get(reverse("ingestion:job_detail", args=[queued_job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert "was_active" in body
    assert 'data-testid="cancel-job"' in body


def test_finance_cancels_a_queued_import_and_it_ends_cancelled_with_nothing_loaded(client, finance_user, queued_job):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_cancel", args=[queued_job.pk]), follow=True)
    queued_job.refresh_from_db()
    assert queued_job.status == ImportJob.Status.CANCELLED
    assert queued_job.finished_at is not None
    assert RiskRow.objects.count() == 0
    assert "Cancelling: the import stops at its next step." in response.content.decode()
    assert AuditEvent.objects.filter(action="ingestion.import_cancel_requested", actor=finance_user).exists()


def test_a_cancelled_import_can_be_run_again_and_loads_its_rows(
    client, finance_user, queued_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    client.post(reverse("ingestion:job_cancel", args=[queued_job.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingestion:job_retry", args=[queued_job.pk]))
    assert response.status_code == 302
    queued_job.refresh_from_db()
    assert (queued_job.status, queued_job.rows_loaded, queued_job.rows_rejected) == (
        ImportJob.Status.SUCCEEDED,
        6,
        6,
    )
    assert RiskRow.objects.count() == 6
    assert AuditEvent.objects.filter(action="ingestion.import_retried", actor=finance_user).exists()


def test_cancelling_a_finished_import_says_it_has_already_finished(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_cancel", args=[imported.pk]), follow=True)
    assert "This import has already finished." in response.content.decode()
    imported.refresh_from_db()
    assert imported.status == ImportJob.Status.SUCCEEDED
    assert RiskRow.objects.count() == 6


def test_a_succeeded_import_cannot_be_run_again(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.post(reverse("ingestion:job_retry", args=[imported.pk]), follow=True)
    assert (
        "Only a failed or cancelled import, or one whose worker stopped answering, can be run again."
        in response.content.decode()
    )
    imported.refresh_from_db()
    assert imported.status == ImportJob.Status.SUCCEEDED
    assert imported.row_errors.count() == 6
