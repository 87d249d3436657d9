"""Bordereau files uploaded before they were kept private sit under MEDIA_ROOT; migration 0004
moves each to AMPARO_PRIVATE_ROOT under a random name, and moves them back when reversed."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from .helpers import private_file

BEFORE = [("ingestion", "0003_natural_key_certificate_first")]
AFTER = [("ingestion", "0004_bordereau_files_in_private_root")]
CONTENT = b"UMR;Certificate Ref\r\nB0750RE26;CERT-00001\r\n"


def migrated_to(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_files_out_of_media_and_back_when_reversed(settings, tmp_path):
    settings.MEDIA_ROOT = media = tmp_path / "media"
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    try:
        apps = migrated_to(BEFORE)
        Source, ImportJob = apps.get_model("ingestion", "Source"), apps.get_model("ingestion", "ImportJob")
        source = Source.objects.create(name="Cedant of old")
        old_name = "bordereaux/2026/10/20261001093000-1a2b3c4d.csv"
        (media / old_name).parent.mkdir(parents=True)
        (media / old_name).write_bytes(CONTENT)
        common = {"source": source, "kind": "risk", "period": date(2026, 10, 1), "original_name": "andinos.csv"}
        kept = ImportJob.objects.create(file=old_name, sha256="a" * 64, **common)
        lost = ImportJob.objects.create(file="bordereaux/2026/10/gone.csv", sha256="b" * 64, **common)

        ImportJob = migrated_to(AFTER).get_model("ingestion", "ImportJob")
        moved, without_file = ImportJob.objects.get(pk=kept.pk), ImportJob.objects.get(pk=lost.pk)
        assert private_file("bordereaux", moved.stored_name).read_bytes() == CONTENT
        assert not (media / old_name).exists()
        assert [path for path in media.rglob("*") if path.is_file()] == []
        assert len(moved.stored_name) == 36 and moved.stored_name.endswith(".csv")
        assert without_file.stored_name and without_file.stored_name != moved.stored_name
        assert not private_file("bordereaux", without_file.stored_name).exists()

        ImportJob = migrated_to(BEFORE).get_model("ingestion", "ImportJob")
        back = ImportJob.objects.get(pk=kept.pk)
        assert back.file.name == f"bordereaux/{moved.stored_name}"
        assert (media / back.file.name).read_bytes() == CONTENT
        assert not private_file("bordereaux", moved.stored_name).exists()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
