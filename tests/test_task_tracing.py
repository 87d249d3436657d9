"""Queued work keeps the correlation id of the request that queued it."""

from django_guid import clear_guid, get_guid, set_guid

from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.core.tasks import correlated_task

SEEN = []


@correlated_task()
def remember_correlation_id(label):
    SEEN.append((label, get_guid()))
    audit_record(actor=None, actor_label="worker", action="test.task_ran", metadata={"label": label})


def test_a_task_runs_under_the_correlation_id_of_the_request_that_queued_it(db):
    SEEN.clear()
    set_guid("5f0c6f5ed0a94b7c9b8f0f6d2b5e9a11")
    try:
        remember_correlation_id("from a request")
        assert SEEN == [("from a request", "5f0c6f5ed0a94b7c9b8f0f6d2b5e9a11")]
        assert AuditEvent.objects.get(action="test.task_ran").correlation_id == "5f0c6f5ed0a94b7c9b8f0f6d2b5e9a11"
        assert get_guid() == "5f0c6f5ed0a94b7c9b8f0f6d2b5e9a11"
    finally:
        clear_guid()


def test_a_task_queued_outside_any_request_gets_a_fresh_correlation_id(db):
    SEEN.clear()
    clear_guid()
    remember_correlation_id("from a schedule")
    [(label, correlation_id)] = SEEN
    assert label == "from a schedule"
    assert len(correlation_id) == 32
    assert get_guid() is None


def test_the_worker_knows_each_task_under_its_module_and_function_name():
    from huey.contrib.djhuey import HUEY

    from portal.ingestion.tasks import import_job_process
    from portal.notifications.tasks import email_message_send

    registry = HUEY._registry
    assert (
        registry.task_to_string(email_message_send.task.task_class) == "portal.notifications.tasks.email_message_send"
    )
    assert registry.task_to_string(import_job_process.task.task_class) == "portal.ingestion.tasks.import_job_process"
