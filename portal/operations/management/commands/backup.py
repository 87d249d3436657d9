from django.core.management.base import BaseCommand, CommandError

from portal.operations.backups import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database (pg_dump custom format, compressed; encrypted with gpg when "
        "AMPARO_BACKUP_PASSPHRASE is set) and the private files into one archive, keeping the newest "
        "AMPARO_BACKUP_KEEP archives of its folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="archive file or folder (default: AMPARO_BACKUP_DIR)")

    def handle(self, *args, output=None, **options):
        try:
            run = backup_create(output=output)
        except BackupError as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        figures = run.manifest["figures"]
        rows = sum(table["rows"] for table in figures["tables"].values())
        self.stdout.write(
            f"backup written to {run.path} ({run.size_bytes} bytes, {run.manifest['seconds']} s, "
            f"{'encrypted' if run.encrypted else 'not encrypted'}): "
            f"{rows} rows in {len(figures['tables'])} key tables, "
            f"{len(figures['ledger_sums'])} ledger accounts, {figures['audit']['count']} audit events, "
            f"{run.manifest['private_files']['files']} private files"
        )
        for name in run.manifest["retention_removed"]:
            self.stdout.write(f"removed old backup {name}")
