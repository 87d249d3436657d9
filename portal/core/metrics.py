"""Prometheus metrics of the processes: huey tasks, cache timings, and the multiprocess directory.

Under gunicorn every worker is its own process, so prometheus-client runs in multiprocess mode: each
process writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` and `/metrics` adds them up. The
huey consumer writes to the same directory, so its task counts show in the web's `/metrics` on one
node. Labels are bounded: a task's label is its registered name, a cache's its backend and operation.
"""

import os
import re
import time
from pathlib import Path

from prometheus_client import Counter, Histogram, disable_created_metrics, multiprocess

# A `_created` twin of every counter doubles the series for nothing a dashboard reads.
disable_created_metrics()

TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, float("inf"))
CACHE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, float("inf"))

task_runs = Counter(
    "amparo_task_runs_total",
    "Huey task runs by task and outcome (complete, error, retrying, expired, revoked, locked, canceled).",
    ["task", "outcome"],
)
task_duration = Histogram(
    "amparo_task_duration_seconds", "Time a huey task ran, by task.", ["task"], buckets=TASK_BUCKETS
)
task_enqueued = Counter("amparo_task_enqueued_total", "Huey tasks queued, by task.", ["task"])
cache_duration = Histogram(
    "amparo_cache_operation_seconds",
    "Time a cache operation took, by backend and operation.",
    ["backend", "operation"],
    buckets=CACHE_BUCKETS,
)
cache_gets = Counter("amparo_cache_gets_total", "Cache reads by backend and result (hit, miss).", ["backend", "result"])

# Huey's signal -> the outcome label it counts as (EXECUTING starts the clock and counts nothing).
ENDING_SIGNALS = {
    "complete": "complete",
    "error": "error",
    "retrying": "retrying",
    "expired": "expired",
    "revoked": "revoked",
    "locked": "locked",
    "canceled": "canceled",
    "timeout": "timeout",
    "interrupted": "interrupted",
}


def _task_name(task):
    """The name huey registers the task under: its module and function."""
    return f"{type(task).__module__}.{type(task).__name__}"


def task_signal_received(signal, task, *args):
    if signal == "executing":
        task._amparo_started = time.perf_counter()
        return
    if signal == "enqueued":
        task_enqueued.labels(_task_name(task)).inc()
        return
    outcome = ENDING_SIGNALS.get(signal)
    if outcome is None:
        return
    name = _task_name(task)
    task_runs.labels(name, outcome).inc()
    started = getattr(task, "_amparo_started", None)
    if started is not None and signal in {"complete", "error"}:
        task_duration.labels(name).observe(time.perf_counter() - started)


def task_metrics_connect(huey):
    """Count every task `huey` queues and runs (in the consumer; in immediate mode, in the caller)."""
    huey.signal()(task_signal_received)


def multiprocess_directory():
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return Path(value) if value else None


_PID_IN_NAME = re.compile(r"_(\d+)\.db$")


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def multiprocess_directory_prepare(directory):
    """Make `directory` and wipe the files of processes no longer running: counts of a previous run
    must not be added to this one's (a consumer already running on this node keeps its own)."""
    directory.mkdir(parents=True, exist_ok=True)
    removed = 0
    for path in directory.glob("*.db"):
        match = _PID_IN_NAME.search(path.name)
        if match is None or not _process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def process_dead(pid):
    """Mark a finished worker's live gauges dead (its counters stay in the sums)."""
    if multiprocess_directory() is not None:
        multiprocess.mark_process_dead(pid)
