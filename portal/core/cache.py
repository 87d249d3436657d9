"""The cache backends settings name: Django's own, timing each operation for `/metrics`
(portal.core.metrics). Rate limits and throttles count here, so a slow cache slows sign-in."""

import time
from functools import wraps

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from .metrics import cache_duration, cache_gets

MISSING = object()
TIMED_OPERATIONS = ("set", "add", "delete", "incr", "get_many", "set_many", "delete_many", "touch", "has_key")


def _timed(backend, operation, method):
    @wraps(method)
    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            cache_duration.labels(backend, operation).observe(time.perf_counter() - started)

    return timed


def _get(backend, method):
    @wraps(method)
    def get(self, key, default=None, version=None):
        started = time.perf_counter()
        try:
            value = method(self, key, MISSING, version)
        finally:
            cache_duration.labels(backend, "get").observe(time.perf_counter() - started)
        cache_gets.labels(backend, "miss" if value is MISSING else "hit").inc()
        return default if value is MISSING else value

    return get


def _measured(base, backend):
    members = {name: _timed(backend, name, getattr(base, name)) for name in TIMED_OPERATIONS}
    members["get"] = _get(backend, base.get)
    return type(f"Measured{base.__name__}", (base,), {"__module__": __name__, **members})


MeasuredRedisCache = _measured(RedisCache, "redis")
MeasuredLocMemCache = _measured(LocMemCache, "locmem")
