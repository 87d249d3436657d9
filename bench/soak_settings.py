"""Soak settings: the benchmark database, a real queue (HUEY_URL, Redis) consumed by separate worker
processes, and the shared cache on Redis, as several machines would have."""

from portal.settings.base import env, huey_settings

from .settings import *  # noqa: F403

HUEY = huey_settings(env("HUEY_URL"), name="amparo-soak", workers=2)
CACHES = {"default": {"BACKEND": "portal.core.cache.MeasuredRedisCache", "LOCATION": env("REDIS_URL")}}
