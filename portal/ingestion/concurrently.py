"""Running an import's queries on both cores: a query runs on one core, and these machines have two.
A call runs beside the import on a connection of its own, which sees the working tables only once
they are committed: so only where the import runs outside a transaction (not in the test suite's)."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection


def _on_own_connection(call):
    try:
        return call()
    finally:
        connection.close()  # this thread's connection


def _may_run_beside():
    """Other connections see the working tables only once they are committed: an import runs
    outside any transaction, except in the test suite's transactions."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def side_by_side(*calls):
    """The results of `calls`, the first run here and each other one at the same time on a
    connection of its own (one after another where `_may_run_beside` says no): a query runs on
    one core, and these machines have two."""
    if len(calls) < 2 or not _may_run_beside():
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls) - 1) as pool:
        others = [pool.submit(_on_own_connection, call) for call in calls[1:]]
        return [calls[0](), *(other.result() for other in others)]


@contextmanager
def beside(call):
    """Start `call` on a connection of its own (see `side_by_side`) and give a function that
    waits for it to end, raising what it raised; where it may not run beside, that function runs it."""
    if not _may_run_beside():
        yield call
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(_on_own_connection, call)
        yield running.result
