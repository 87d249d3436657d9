"""Soak settings: the benchmark database, a real queue (HUEY_URL, Redis) consumed by separate worker
processes, and the shared cache on Redis, as several machines would have."""

from portal.settings.base import env, huey_settings

from .settings import *  # noqa: F403

HUEY = huey_settings(env("HUEY_URL"), name="amparo-soak", workers=2)
# The sweep queues again what a killed consumer held after this much silence (300 in production), so
# the soak sees the product recover it within the phase's bounded wait.
AMPARO_WORKER_SILENCE_SECONDS = 30
CACHES = {"default": {"BACKEND": "portal.core.cache.MeasuredRedisCache", "LOCATION": env("REDIS_URL")}}
