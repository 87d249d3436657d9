import json
import statistics
import time

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext


def ensure_database():
    """Create the benchmark database if needed and bring its schema up to date."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname="postgres", autocommit=True
    ) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)


def time_requests(client, url, *, repeat, warmup=3, expect_status=200):
    """Server time of `repeat` GETs through the full Django stack: p50/p95 in ms and queries per request."""
    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == expect_status, (url, response.status_code)
    samples = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == expect_status, (url, response.status_code)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "queries": len(queries) // repeat,
    }


def emit(result):
    print(json.dumps(result, sort_keys=False))
