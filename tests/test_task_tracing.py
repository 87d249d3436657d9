"""Queued work keeps the correlation id of the request that queued it."""

from django_guid import clear_guid, get_guid, set_guid

from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from tasks.tracing import correlated_task

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


def test_the_email_task_is_registered_under_its_own_name():
    from tasks.notifications import email_message_send

    assert email_message_send.task.name == "tasks.notifications.email_message_send"
