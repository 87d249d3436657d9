"""/readyz: may this process take traffic? The database, the queue, the cache, private storage and the
migrations are checked; a 503 names the one that failed. /healthz stays the liveness check."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

import portal.core.readiness as readiness

ALL_OK = {"database": "ok", "queue": "ok", "cache": "ok", "storage": "ok", "migrations": "ok"}


def test_readyz_answers_200_when_everything_is_ready(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": ALL_OK}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_needs_no_sign_in_and_passes_the_second_factor_gate(client, agent, settings):
    settings.AMPARO_REQUIRE_2FA = True
    client.force_login(agent)
    assert client.get("/readyz").status_code == 200


def test_readyz_only_answers_get(client, db):
    assert client.post("/readyz").status_code == 405


def test_readyz_names_an_unapplied_migration(client, db):
    applied = MigrationRecorder.Migration.objects.get(app="operations", name="0001_initial")
    applied.delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "unapplied: operations.0001_initial"
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_answers_503_when_the_queue_is_down(client, db, queue_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {**ALL_OK, "queue": "unreachable"}


def test_readyz_answers_503_when_the_database_is_down_and_skips_the_migrations(
    client,
    db,
    database_down,
):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "unreachable"
    assert checks["migrations"] == "database unreachable"


def test_readyz_answers_503_when_the_cache_is_down(client, db, settings):
    settings.CACHES = {
        "default": {"BACKEND": "portal.core.cache.MeasuredRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unreachable"


def test_readyz_answers_503_when_private_storage_cannot_be_written(client, db, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the private folder should be")
    settings.AMPARO_PRIVATE_ROOT = blocked
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unusable"


def test_the_storage_probe_leaves_no_file_behind(db, settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    assert readiness.storage_problem() is None
    assert list((tmp_path / "readiness").iterdir()) == []


def test_the_cache_probe_leaves_no_key_behind(db):
    assert readiness.cache_problem() is None
    assert not any(key.startswith(":1:readyz:") for key in getattr(cache, "_cache", {}))


@pytest.mark.postgres
def test_healthz_does_not_check_migrations(client, db):
    MigrationRecorder.Migration.objects.filter(app="operations").delete()
    assert client.get("/healthz").status_code == 200
    assert connection.vendor == "postgresql"
