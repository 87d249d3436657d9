import json
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.ingestion.detect import detect_layout
from portal.ingestion.fields import Kind
from portal.ingestion.models import ImportJob, MappingProfile, Source
from portal.ingestion.readers import UnreadableFile
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_create, period_from_text, profile_save, source_create


class Command(BaseCommand):
    # It only reads a file into the database; Django's system checks (URLs, templates, admin)
    # would add half a second to every run.
    requires_system_checks = []
    help = (
        "Import a risk or claims bordereau (CSV or XLSX) now, in this process. A source that does not exist yet "
        "is created with a profile detected from the file. Prints one JSON line with the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", required=True, help="cedant / coverholder name")
        parser.add_argument("--kind", choices=[Kind.RISK, Kind.CLAIMS], default=Kind.RISK)
        parser.add_argument("--period", help="reporting month, YYYY-MM (default: this month)")

    def handle(self, *args, path, source, kind, period, **options):
        started = time.perf_counter()
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            period_date = period_from_text(period or timezone.localdate().strftime("%Y-%m"))
            source_obj = Source.objects.filter(name__iexact=source).first()
            if source_obj is None:
                source_obj = source_create(actor=None, name=source)
            with file_path.open("rb") as handle:
                job = import_job_create(
                    actor=None,
                    source=source_obj,
                    kind=kind,
                    period=period_date,
                    upload=handle,
                    original_name=file_path.name,
                    enqueue=False,
                )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if not MappingProfile.objects.filter(source=source_obj, kind=kind).exists():
            # Detected on the stored copy that the import reads next, so a workbook is loaded once.
            try:
                layout = detect_layout(job.file_path, kind, original_name=file_path.name)
            except UnreadableFile:
                pass  # the import fails the job with the same reason
            else:
                profile_save(
                    actor=None,
                    source=source_obj,
                    kind=kind,
                    column_map={name: layout.headers[index] for name, index in layout.columns.items()},
                    detected=layout.as_dict(),
                )
        import_job_run(job_id=job.pk)
        job.refresh_from_db()
        if job.status != ImportJob.Status.SUCCEEDED:
            self.stderr.write(f"import {job.get_status_display().lower()}: {job.error}")
        self.stdout.write(
            json.dumps(
                {
                    "job": job.pk,
                    "status": job.status,
                    "rows_total": job.rows_total,
                    "rows_loaded": job.rows_loaded,
                    "rows_rejected": job.rows_rejected,
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        )
        if job.status != ImportJob.Status.SUCCEEDED:
            raise SystemExit(1)
