import uuid
from functools import wraps

from django_guid import clear_guid, get_guid, set_guid
from huey.contrib.djhuey import db_task


def correlated_task(**options):
    """A huey `db_task` that runs under the correlation id of the request that queued it, so its
    log lines and audit events can be traced back to that request."""

    def decorator(function):
        @wraps(function)
        def run(*args, correlation_id="", **kwargs):
            previous = get_guid()
            set_guid(correlation_id or uuid.uuid4().hex)
            try:
                return function(*args, **kwargs)
            finally:
                # In immediate mode the task runs inside the caller's request: give its id back.
                if previous:
                    set_guid(previous)
                else:
                    clear_guid()

        task = db_task(**options)(run)

        @wraps(function)
        def enqueue(*args, **kwargs):
            return task(*args, correlation_id=get_guid() or "", **kwargs)

        enqueue.task = task
        return enqueue

    return decorator
