"""`/readyz`: may this process take traffic? Each check answers None when it passes, or what failed.
`/healthz` (portal.core.health) stays the liveness check a process manager restarts on."""

import logging
import secrets

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from .health import database_is_up, queue_is_up
from .storage import private_storage

logger = logging.getLogger(__name__)


def database_problem():
    return None if database_is_up() else "unreachable"


def queue_problem():
    return None if queue_is_up() else "unreachable"


def cache_problem():
    key = f"readyz:{secrets.token_hex(8)}"
    try:
        cache.set(key, "1", timeout=10)
        found = cache.get(key)
        cache.delete(key)
    except Exception:
        logger.exception("readiness check: cache unreachable")
        return "unreachable"
    return None if found == "1" else "does not keep what is written"


def storage_problem():
    storage = private_storage("readiness")
    try:
        name = storage.save(f"probe-{secrets.token_hex(8)}", ContentFile(b"ready"))
        with storage.open(name) as stored:
            content = stored.read()
        storage.delete(name)
    except Exception:
        logger.exception("readiness check: private storage unusable")
        return "unusable"
    return None if content == b"ready" else "does not keep what is written"


def migrations_problem():
    """The migrations not applied yet: this code must not serve a database from before them."""
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        logger.exception("readiness check: migrations could not be read")
        return "could not be read"
    if not plan:
        return None
    return "unapplied: " + ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan)


CHECKS = {
    "database": database_problem,
    "queue": queue_problem,
    "cache": cache_problem,
    "storage": storage_problem,
    "migrations": migrations_problem,
}


def readiness():
    """{check name: None or what failed}; the migrations are not read when the database is down."""
    results = {}
    for name, check in CHECKS.items():
        if name == "migrations" and results.get("database"):
            results[name] = "database unreachable"
            continue
        results[name] = check()
    return results
