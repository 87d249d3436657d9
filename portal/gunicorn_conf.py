"""gunicorn's hooks (`gunicorn -c python:portal.gunicorn_conf`): the metrics of the worker processes.

Each worker writes its samples to `PROMETHEUS_MULTIPROC_DIR` (portal.core.metrics); the files of
processes gone since the last start are wiped before the first worker starts, and a worker that exits
is marked dead so its live gauges stop counting (its counters stay in the totals).
"""

from portal.core.metrics import multiprocess_directory, multiprocess_directory_prepare, process_dead


def on_starting(server):
    directory = multiprocess_directory()
    if directory is not None:
        multiprocess_directory_prepare(directory)


def child_exit(server, worker):
    process_dead(worker.pid)
