"""Backups and verified restores on PostgreSQL: `manage.py backup` writes the dump, the private files and
a manifest of the key tables' figures in one archive (encrypted when asked), keeps the newest few; and
`manage.py restore --verify FILE` restores into a scratch database and compares."""

import json
import tarfile
import threading
from datetime import date
from decimal import Decimal
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.operations.backups import MANIFEST_NAME, BackupError, backup_create, backup_verify
from portal.operations.models import BackupRun
from portal.operations.tasks import backup_nightly
from portal.payments.models import LedgerAccount, LedgerEntry

from .factories import file_claim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def backup_settings(settings, tmp_path):
    settings.AMPARO_BACKUP_DIR = tmp_path / "backups"
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_BACKUP_PASSPHRASE = ""
    settings.AMPARO_BACKUP_KEEP = 14
    (tmp_path / "private" / "claim-documents" / "ab").mkdir(parents=True)
    (tmp_path / "private" / "claim-documents" / "ab" / "abcd.pdf").write_bytes(b"%PDF-1.4 a claim photo")
    return settings


@pytest.fixture
def book(backup_settings):
    claim = file_claim()
    account, _ = LedgerAccount.objects.get_or_create(customer=claim.policy.customer, currency="COP")
    for amount in ("300000.00", "125000.50"):
        LedgerEntry.objects.create(
            account=account,
            kind=LedgerEntry.Kind.PREMIUM_DUE,
            amount=Decimal(amount),
            currency="COP",
            posted_on=date(2026, 1, 10),
        )
    return claim


def scratch_databases():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [connection.settings_dict["NAME"] + "_verify_%"]
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_backup_restores_into_a_scratch_database_with_the_same_figures(book, backup_settings):
    out = StringIO()
    call_command("backup", stdout=out)
    run = BackupRun.objects.get()
    assert run.status == BackupRun.Status.SUCCEEDED
    assert Path(run.path).parent == backup_settings.AMPARO_BACKUP_DIR
    assert Path(run.path).name.startswith("amparo-backup-") and run.path.endswith(".tar")
    assert "backup written to" in out.getvalue()
    figures = run.manifest["figures"]
    assert figures["tables"]["claims_claim"]["rows"] == 1
    entries = LedgerEntry.objects.all()
    assert list(figures["ledger_sums"].values()) == [
        {"sum": str(sum(entry.amount for entry in entries)), "entries": entries.count()}
    ]
    assert figures["audit"]["last_id"] == AuditEvent.objects.order_by("-id").values_list("id", flat=True)[1]
    assert run.manifest["private_files"]["files"] == 1

    out = StringIO()
    call_command("restore", verify=run.path, stdout=out)
    printed = out.getvalue()
    assert "restored in " in printed
    assert "verified: 8 key tables, 1 ledger accounts" in printed
    assert "1 private files match the backup" in printed
    assert scratch_databases() == []


def test_the_archive_holds_a_custom_format_dump_the_private_files_and_the_manifest(book, backup_settings):
    run = backup_create()
    with tarfile.open(run.path) as archive:
        assert sorted(archive.getnames()) == ["database.dump", "manifest.json", "private-files.tar.gz"]
        assert archive.extractfile("database.dump").read(5) == b"PGDMP"
        manifest = json.load(archive.extractfile(MANIFEST_NAME))
    assert manifest["figures"] == run.manifest["figures"]


def test_the_run_is_audited_and_shows_in_the_backup_gauge(book, backup_settings):
    run = backup_create()
    event = AuditEvent.objects.get(action="backup.succeeded")
    assert event.target_id == str(run.pk)
    assert event.metadata["archive"] == run.path


def test_verification_reports_what_differs_from_the_manifest(book, backup_settings, tmp_path):
    run = backup_create()
    forged = tmp_path / "forged.tar"
    with tarfile.open(run.path) as original, tarfile.open(forged, "w") as copy:
        for member in original.getmembers():
            data = original.extractfile(member).read()
            if member.name == MANIFEST_NAME:
                manifest = json.loads(data)
                account = next(iter(manifest["figures"]["ledger_sums"]))
                manifest["figures"]["ledger_sums"][account]["sum"] += "1"
                manifest["figures"]["audit"]["count"] += 1
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, fileobj=BytesIO(data))

    result = backup_verify(archive=forged)
    assert not result.verified
    assert any(f"ledger account {account}" in difference for difference in result.differences)
    assert any(difference.startswith("audit events:") for difference in result.differences)
    with pytest.raises(CommandError, match="differs from what it recorded"):
        call_command("restore", verify=str(forged), stdout=StringIO())
    assert scratch_databases() == []


def test_writes_during_the_backup_do_not_make_the_figures_disagree_with_the_dump(book, backup_settings):
    stop = threading.Event()

    def keep_writing():
        while not stop.is_set():
            audit_record(actor=None, actor_label="writer", action="test.write", metadata={})
        connection.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        run = backup_create()
    finally:
        stop.set()
        writer.join()
    assert AuditEvent.objects.filter(action="test.write").count() > run.manifest["figures"]["audit"]["count"] - 10
    assert backup_verify(archive=run.path).verified


def test_an_encrypted_backup_needs_its_passphrase(book, backup_settings):
    backup_settings.AMPARO_BACKUP_PASSPHRASE = "correct horse battery staple"
    run = backup_create()
    assert run.path.endswith(".tar.gpg") and run.encrypted
    assert not tarfile.is_tarfile(run.path)
    assert backup_verify(archive=run.path).verified

    backup_settings.AMPARO_BACKUP_PASSPHRASE = "wrong"
    with pytest.raises(BackupError, match="wrong passphrase or damaged file"):
        backup_verify(archive=run.path)
    backup_settings.AMPARO_BACKUP_PASSPHRASE = ""
    with pytest.raises(BackupError, match="set AMPARO_BACKUP_PASSPHRASE"):
        backup_verify(archive=run.path)


def test_only_the_newest_archives_of_the_folder_are_kept(book, backup_settings):
    backup_settings.AMPARO_BACKUP_KEEP = 2
    folder = backup_settings.AMPARO_BACKUP_DIR
    folder.mkdir(parents=True)
    for stamp in ("20260101T023000Z", "20260102T023000Z"):
        (folder / f"amparo-backup-{stamp}.tar").write_bytes(b"old")
    (folder / "notes.txt").write_text("not a backup")

    run = backup_create()
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["amparo-backup-20260102T023000Z.tar", Path(run.path).name, "notes.txt"]
    )
    assert run.manifest["retention_removed"] == ["amparo-backup-20260101T023000Z.tar"]


def test_output_may_name_the_archive_file(book, backup_settings, tmp_path):
    target = tmp_path / "elsewhere" / "tonight.tar"
    call_command("backup", output=str(target), stdout=StringIO())
    assert target.is_file()
    assert BackupRun.objects.get().path == str(target)


def test_restore_of_a_missing_or_foreign_file_says_so(backup_settings, tmp_path):
    with pytest.raises(CommandError, match="no backup archive at"):
        call_command("restore", verify=str(tmp_path / "absent.tar"), stdout=StringIO())
    foreign = tmp_path / "foreign.tar"
    foreign.write_bytes(b"this is not a tar archive at all" * 100)
    with pytest.raises(CommandError, match="is not a backup archive"):
        call_command("restore", verify=str(foreign), stdout=StringIO())


def test_a_failed_backup_is_recorded_and_reported(book, backup_settings, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(CommandError, match="backup failed"):
        call_command("backup", output=str(blocked / "x.tar"), stdout=StringIO())
    run = BackupRun.objects.get()
    assert run.status == BackupRun.Status.FAILED
    assert "a-file" in run.error
    assert AuditEvent.objects.filter(action="backup.failed", target_id=str(run.pk)).exists()


def test_the_nightly_task_does_nothing_unless_switched_on(book, backup_settings):
    backup_settings.AMPARO_BACKUP_NIGHTLY = False
    backup_nightly.call_local()
    assert not BackupRun.objects.exists()
    backup_settings.AMPARO_BACKUP_NIGHTLY = True
    backup_nightly.call_local()
    assert BackupRun.objects.get().status == BackupRun.Status.SUCCEEDED
