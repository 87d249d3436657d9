"""Bordereau files move from MEDIA_ROOT (bordereaux/<year>/<month>/<time>-<hash>.csv, which any
server of /media/ would hand out) to AMPARO_PRIVATE_ROOT/bordereaux under random names, as claim
documents are stored.

Files cannot take part in the transaction: each is copied first, the rows then name the copies,
and the originals are removed last, so a migration that fails half-way leaves every original in
place (and some copies nobody names). Reversing copies the files back to MEDIA_ROOT under
bordereaux/<their random name>. A job whose file is missing keeps a name and no file, as before.
"""

import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def private_path(stored_name):
    return Path(settings.AMPARO_PRIVATE_ROOT) / "bordereaux" / stored_name[:2] / stored_name


def copy(source, target):
    if not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def to_private_root(apps, schema_editor):
    ImportJob = apps.get_model("ingestion", "ImportJob")
    copied = []
    for pk, name in ImportJob.objects.values_list("pk", "file").iterator():
        ending = ".xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
        stored_name = f"{secrets.token_hex(16)}{ending}"
        original = Path(settings.MEDIA_ROOT) / name if name else None
        if original is not None and copy(original, private_path(stored_name)):
            copied.append(original)
        ImportJob.objects.filter(pk=pk).update(stored_name=stored_name)
    for original in copied:
        original.unlink()


def to_media_root(apps, schema_editor):
    ImportJob = apps.get_model("ingestion", "ImportJob")
    copied = []
    for pk, stored_name in ImportJob.objects.values_list("pk", "stored_name").iterator():
        name = f"bordereaux/{stored_name}"
        if copy(private_path(stored_name), Path(settings.MEDIA_ROOT) / name):
            copied.append(private_path(stored_name))
        ImportJob.objects.filter(pk=pk).update(file=name)
    for stored in copied:
        stored.unlink()


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0003_natural_key_certificate_first"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="stored_name",
            field=models.CharField(default="", max_length=80, verbose_name="stored as"),
            preserve_default=False,
        ),
        migrations.RunPython(to_private_root, to_media_root),
        # A default, so that reversing can add the column back to a table with rows.
        migrations.AlterField(
            model_name="importjob",
            name="file",
            field=models.FileField(default="", max_length=255, upload_to="bordereaux/%Y/%m/", verbose_name="file"),
        ),
        migrations.RemoveField(
            model_name="importjob",
            name="file",
        ),
        migrations.AlterField(
            model_name="importjob",
            name="stored_name",
            field=models.CharField(max_length=80, unique=True, verbose_name="stored as"),
        ),
    ]
