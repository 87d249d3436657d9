"""Settings of the benchmark's gunicorn for `python -m bench api`: the benchmark's, with the naive peer's
URLs mounted beside the app's (bench.api_peer)."""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_peer"
