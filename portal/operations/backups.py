"""Backups and verified restores on PostgreSQL.

A backup is one tar archive (`amparo-backup-<UTC time>.tar`, `.tar.gpg` when encrypted) holding the
database dump in pg_dump's custom format (compressed), the private files as a tar.gz, and a manifest
with the figures of the key tables (portal.operations.checksums). The figures and the dump read one
snapshot: a REPEATABLE READ transaction exports it and pg_dump runs on it (`--snapshot`), so writes
while the backup runs cannot make them disagree. A verified restore loads the dump into a scratch
database, reads the same figures there and compares them with the manifest.
"""

import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.audit.services import audit_record

from .checksums import database_figures, figures_differences
from .models import BackupRun

logger = logging.getLogger(__name__)

ARCHIVE_PREFIX = "amparo-backup-"
DUMP_NAME = "database.dump"
PRIVATE_NAME = "private-files.tar.gz"
MANIFEST_NAME = "manifest.json"
# Files the readiness probe writes and deletes at once; never worth keeping.
PRIVATE_SKIPPED = {"readiness"}


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class VerifyResult:
    differences: list
    restore_seconds: float
    manifest: dict

    @property
    def verified(self):
        return not self.differences


def _database():
    config = connection.settings_dict
    if connection.vendor != "postgresql":
        raise BackupError(
            "backups need PostgreSQL (DATABASE_URL=postgresql://...); this database is " + connection.vendor
        )
    return {
        "host": config["HOST"] or "localhost",
        "port": str(config["PORT"] or 5432),
        "user": config["USER"] or "",
        "password": config["PASSWORD"] or "",
        "dbname": config["NAME"],
    }


def _client_env(database):
    # The password reaches pg_dump and pg_restore through their environment, never their command line.
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if database["password"]:
        env["PGPASSWORD"] = database["password"]
    return env


def _client_args(database, dbname=None):
    return ["-h", database["host"], "-p", database["port"], "-U", database["user"], "-d", dbname or database["dbname"]]


def _run(command, *, env, what):
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-2000:]}")


def _connect(database, dbname=None, **kwargs):
    return psycopg.connect(
        host=database["host"],
        port=database["port"],
        user=database["user"],
        password=database["password"] or None,
        dbname=dbname or database["dbname"],
        connect_timeout=10,
        **kwargs,
    )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump_with_figures(database, dump_path):
    with _connect(database) as snapshot_holder:
        snapshot_holder.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = snapshot_holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        with snapshot_holder.cursor() as cursor:
            figures = database_figures(cursor)
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--compress=6",
                f"--snapshot={snapshot}",
                f"--file={dump_path}",
                *_client_args(database),
            ],
            env=_client_env(database),
            what="pg_dump",
        )
        snapshot_holder.rollback()
    return figures


def _archive_private_files(target):
    root = Path(settings.AMPARO_PRIVATE_ROOT)
    files = total = 0
    with tarfile.open(target, "w:gz") as archive:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and relative.parts[0] not in PRIVATE_SKIPPED:
                    archive.add(path, arcname=str(relative), recursive=False)
                    files += 1
                    total += path.stat().st_size
    return {"files": files, "bytes": total, "sha256": _sha256(target)}


def _gpg(arguments, passphrase):
    """Run gpg with `passphrase` handed over a pipe (never on the command line or in the environment)."""
    read_end, write_end = os.pipe()
    os.write(write_end, passphrase.encode())
    os.close(write_end)
    try:
        command = [
            "gpg",
            "--batch",
            "--yes",
            "--quiet",
            "--pinentry-mode=loopback",
            f"--passphrase-fd={read_end}",
            *arguments,
        ]
        return subprocess.run(  # noqa: S603
            command,
            pass_fds=(read_end,),
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.close(read_end)


def _encrypt(source, target, passphrase):
    result = _gpg(["--symmetric", "--cipher-algo=AES256", f"--output={target}", str(source)], passphrase)
    if result.returncode != 0:
        raise BackupError(f"encryption failed: {result.stderr.strip()[-500:]}")


def _decrypt(source, target, passphrase):
    if not passphrase:
        raise BackupError("the archive is encrypted: set AMPARO_BACKUP_PASSPHRASE to the passphrase it was made with")
    if _gpg(["--decrypt", f"--output={target}", str(source)], passphrase).returncode != 0:
        raise BackupError("the archive could not be decrypted: wrong passphrase or damaged file")


def _archive_path(output):
    name = f"{ARCHIVE_PREFIX}{timezone.now():%Y%m%dT%H%M%SZ}.tar"
    if output is None:
        return Path(settings.AMPARO_BACKUP_DIR) / name
    output = Path(output)
    return output / name if output.is_dir() else output


def _apply_retention(directory, keep):
    archives = sorted(path for path in directory.glob(f"{ARCHIVE_PREFIX}*.tar*") if path.is_file())
    removed = archives[: max(len(archives) - keep, 0)]
    for path in removed:
        path.unlink()
    return [path.name for path in removed]


@transaction.atomic
def _backup_finish(*, run, **fields):
    for name, value in fields.items():
        setattr(run, name, value)
    run.finished_at = timezone.now()
    run.save()
    action = "backup.succeeded" if run.status == BackupRun.Status.SUCCEEDED else "backup.failed"
    audit_record(
        actor=None,
        actor_label="system",
        action=action,
        target=run,
        metadata={"archive": run.path, "size_bytes": run.size_bytes, "encrypted": run.encrypted},
    )
    return run


def backup_create(*, output=None):
    """Take a backup into `output` (a file, or a folder; AMPARO_BACKUP_DIR when None), keep the newest
    AMPARO_BACKUP_KEEP archives of that folder, and record the run. Raises BackupError on failure."""
    database = _database()
    passphrase = settings.AMPARO_BACKUP_PASSPHRASE
    target = _archive_path(output)
    if passphrase:
        target = target.with_name(target.name + ".gpg")
    run = BackupRun.objects.create(encrypted=bool(passphrase))
    started = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
            work = Path(work)
            figures = _dump_with_figures(database, work / DUMP_NAME)
            private = _archive_private_files(work / PRIVATE_NAME)
            manifest = {
                "format": 1,
                "taken_at": timezone.now().isoformat(),
                "database": database["dbname"],
                "dump_sha256": _sha256(work / DUMP_NAME),
                "private_files": private,
                "figures": figures,
            }
            (work / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
            plain = work / "archive.tar"
            with tarfile.open(plain, "w") as archive:
                for name in (MANIFEST_NAME, DUMP_NAME, PRIVATE_NAME):
                    archive.add(work / name, arcname=name)
            if passphrase:
                _encrypt(plain, work / "archive.tar.gpg", passphrase)
                plain = work / "archive.tar.gpg"
            shutil.move(plain, target)
    except Exception as exc:
        _backup_finish(run=run, status=BackupRun.Status.FAILED, error=str(exc)[:2000])
        raise BackupError(str(exc)) from exc
    removed = _apply_retention(target.parent, settings.AMPARO_BACKUP_KEEP)
    manifest["seconds"] = round(time.perf_counter() - started, 3)
    manifest["retention_removed"] = removed
    return _backup_finish(
        run=run,
        status=BackupRun.Status.SUCCEEDED,
        path=str(target),
        size_bytes=target.stat().st_size,
        manifest=manifest,
    )


def _unpack(archive_path, work):
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise BackupError(f"no backup archive at {archive_path}")
    if archive_path.name.endswith(".gpg"):
        plain = work / "archive.tar"
        _decrypt(archive_path, plain, settings.AMPARO_BACKUP_PASSPHRASE)
        archive_path = plain
    try:
        with tarfile.open(archive_path, "r") as archive:
            archive.extractall(work, members=_expected_members(archive), filter="data")
    except tarfile.TarError as exc:
        raise BackupError(f"{archive_path.name} is not a backup archive: {exc}") from exc
    if not (work / MANIFEST_NAME).is_file() or not (work / DUMP_NAME).is_file():
        raise BackupError(f"{archive_path.name} is not a backup archive: it lacks its manifest or its dump")
    return json.loads((work / MANIFEST_NAME).read_text())


def _expected_members(archive):
    return [member for member in archive.getmembers() if member.name in {MANIFEST_NAME, DUMP_NAME, PRIVATE_NAME}]


def _private_files_differences(work, recorded):
    path = work / PRIVATE_NAME
    if not path.is_file():
        return ["private files: the archive holds none"]
    differences = []
    if _sha256(path) != recorded["sha256"]:
        differences.append("private files: their archive's checksum differs from the manifest's")
    with tarfile.open(path, "r:gz") as archive:
        members = [member for member in archive.getmembers() if member.isfile()]
    found = {"files": len(members), "bytes": sum(member.size for member in members)}
    expected = {"files": recorded["files"], "bytes": recorded["bytes"]}
    if found != expected:
        differences.append(f"private files: backup {expected}, archive {found}")
    return differences


def backup_verify(*, archive, keep_database=False):
    """Restore `archive` into a scratch database beside this one and compare its figures with the
    manifest's. Returns a VerifyResult; the scratch database is dropped unless `keep_database`."""
    database = _database()
    scratch = f"{database['dbname'][:40]}_verify_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="amparo-verify-") as work:
        work = Path(work)
        manifest = _unpack(archive, work)
        differences = []
        if _sha256(work / DUMP_NAME) != manifest["dump_sha256"]:
            differences.append("database dump: its checksum differs from the manifest's")
        differences += _private_files_differences(work, manifest["private_files"])
        with _connect(database, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            started = time.perf_counter()
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--jobs=2",
                    *_client_args(database, scratch),
                    str(work / DUMP_NAME),
                ],
                env=_client_env(database),
                what="pg_restore",
            )
            restore_seconds = time.perf_counter() - started
            with _connect(database, dbname=scratch) as restored, restored.cursor() as cursor:
                differences += figures_differences(manifest["figures"], database_figures(cursor))
        finally:
            if not keep_database:
                with _connect(database, dbname="postgres", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    logger.info("backup verified: %s, %d differences", Path(archive).name, len(differences))
    return VerifyResult(differences=differences, restore_seconds=restore_seconds, manifest=manifest)
