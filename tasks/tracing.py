import uuid
from contextlib import contextmanager
from functools import wraps

from django_guid import clear_guid, get_guid, set_guid
from huey.contrib.djhuey import db_periodic_task, db_task


@contextmanager
def correlation(correlation_id=""):
    """Run under `correlation_id` (a fresh one when empty), then give the previous id back: in
    immediate mode a task runs inside the caller's request, which keeps its own id."""
    previous = get_guid()
    set_guid(correlation_id or uuid.uuid4().hex)
    try:
        yield
    finally:
        if previous:
            set_guid(previous)
        else:
            clear_guid()


def correlated_task(**options):
    """A huey `db_task` that runs under the correlation id of the request that queued it, so its
    log lines and audit events can be traced back to that request."""

    def decorator(function):
        @wraps(function)
        def run(*args, correlation_id="", **kwargs):
            with correlation(correlation_id):
                return function(*args, **kwargs)

        task = db_task(**options)(run)

        @wraps(function)
        def enqueue(*args, **kwargs):
            return task(*args, correlation_id=get_guid() or "", **kwargs)

        enqueue.task = task
        return enqueue

    return decorator


def correlated_periodic_task(validate_datetime, **options):
    """A huey periodic task whose every run has a correlation id of its own, shared by its log
    lines and the audit events it writes (nothing queued it, so there is no id to inherit)."""

    def decorator(function):
        @wraps(function)
        def run():
            with correlation():
                return function()

        return db_periodic_task(validate_datetime, **options)(run)

    return decorator
