"""Benchmark settings: the test settings (no debug query log) on a PostgreSQL database of its own."""

import os

import dj_database_url

from portal.settings.test import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/amparo_bench"),
        conn_max_age=600,
    )
}
