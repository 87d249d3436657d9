from django.core.management.base import BaseCommand, CommandError

from portal.operations.backups import BackupError, backup_verify


class Command(BaseCommand):
    help = (
        "Verify a backup: restore it into a scratch database beside this one, compare row counts and "
        "checksums of the key tables, the ledger's sum per account and the audit trail with what the "
        "backup recorded, print the restore time, and drop the scratch database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--verify", metavar="FILE", required=True, help="the backup archive to verify")
        parser.add_argument("--keep-database", action="store_true", help="leave the scratch database for inspection")

    def handle(self, *args, verify, keep_database=False, **options):
        try:
            result = backup_verify(archive=verify, keep_database=keep_database)
        except BackupError as exc:
            raise CommandError(f"restore failed: {exc}") from exc
        figures = result.manifest["figures"]
        self.stdout.write(f"restored in {result.restore_seconds:.2f} s (backup taken {result.manifest['taken_at']})")
        for difference in result.differences:
            self.stdout.write(f"DIFFERS: {difference}")
        if not result.verified:
            raise CommandError(
                f"the restored backup differs from what it recorded ({len(result.differences)} differences)"
            )
        self.stdout.write(
            f"verified: {len(figures['tables'])} key tables, {len(figures['ledger_sums'])} ledger accounts, "
            f"{figures['audit']['count']} audit events (last id {figures['audit']['last_id']}), "
            f"{result.manifest['private_files']['files']} private files match the backup"
        )
