"""Task plumbing shared by every domain's `tasks.py`: correlation ids, the local-time crontab, and the
one way a service queues work after its transaction commits.

Services never import a `tasks` module (a task imports its service, so that would be a cycle):
they call `enqueue_on_commit` with the task's dotted path, which is looked up only when the
transaction has committed.
"""

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_guid import clear_guid, get_guid, set_guid
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from .idempotency import idempotency_records_purge

logger = logging.getLogger(__name__)


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
        def queue(*args, **kwargs):
            return task(*args, correlation_id=get_guid() or "", **kwargs)

        queue.task = task
        return queue

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


def local_crontab(**fields):
    """A huey crontab read in the portal's time zone. Huey hands periodic tasks a naive timestamp
    in UTC (its default) or in the process's local time; a plain crontab would read it as is."""
    matches = crontab(**fields)

    def validate_datetime(timestamp):
        if HUEY.utc:
            timestamp = timezone.localtime(timestamp.replace(tzinfo=UTC)).replace(tzinfo=None)
        return matches(timestamp)

    return validate_datetime


def worker_silence():
    """How long background work may go without a sign of life before its worker counts as lost."""
    return timedelta(seconds=settings.AMPARO_WORKER_SILENCE_SECONDS)


@contextmanager
def heartbeat(queryset, field="heartbeat_at"):
    """While the body runs, stamp `field` on the rows of `queryset` (the job, while it is still this
    worker's) every fifth of the silence window from a thread of its own: a long step between two
    progress reports (a big final transaction, a slow query) never makes a live worker look dead to
    the sweep, and a killed worker's stamps stop with it."""
    stop = threading.Event()
    every = max(1.0, settings.AMPARO_WORKER_SILENCE_SECONDS / 5)

    def beat():
        try:
            while not stop.wait(every):
                try:
                    queryset.update(**{field: timezone.now()})
                except DatabaseError:
                    logger.warning("heartbeat of %s missed", queryset.model.__name__, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{queryset.model.__name__}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def enqueue(task_path, **kwargs):
    """Queue the task at `task_path` (e.g. "portal.payments.tasks.receipt_send") with `kwargs` now."""
    return import_string(task_path)(**kwargs)


def enqueue_on_commit(task_path, **kwargs):
    """Queue the task at `task_path` with `kwargs` once the current transaction commits; nothing is
    queued if it rolls back (what services do: the worker must find what the transaction wrote).

    Robust: what the transaction wrote is committed whatever happens to the queue, so a queue that is
    down is logged, never turned into an error for a request whose work is done. Every task queued
    this way has a sweep or a retry that finds its work again.
    """
    transaction.on_commit(lambda: enqueue(task_path, **kwargs), robust=True)


DASHBOARD_REFRESH_TASK = "portal.reports.tasks.dashboard_figures_refresh_now"
DASHBOARD_REFRESH_DEBOUNCE_KEY = "reports:dashboard-figures-refresh-queued"


def dashboard_figures_moved(*, at_once=False):
    """After a write that moves the dashboards' precomputed figures: queue one refresh once the
    transaction commits, at most once per AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS (0 turns this off;
    the five-minute periodic refresh still runs). Saves ask through the reports' post_save receivers;
    services that write with QuerySet.update or bulk_create, which send no signal, call it themselves
    (the task is named by its path, so the domains below the reports need not import them).

    The window starts when a write commits, so a write that rolls back holds back no other. `at_once`
    (the end of a bulk job, whose later chunks the window would swallow) queues one whatever the window.
    """
    seconds = settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS
    if not seconds:
        return

    def queue():
        if cache.add(DASHBOARD_REFRESH_DEBOUNCE_KEY, 1, timeout=seconds) or at_once:
            enqueue(DASHBOARD_REFRESH_TASK)

    transaction.on_commit(queue, robust=True)


@correlated_periodic_task(local_crontab(minute="45", hour="3"), retries=3, retry_delay=300)
def idempotency_records_sweep():
    """Nightly: forget the API's Idempotency-Keys past their retention."""
    deleted = idempotency_records_purge()
    logger.info("old idempotency records deleted", extra={"task": "idempotency_records_purge", "deleted": deleted})
