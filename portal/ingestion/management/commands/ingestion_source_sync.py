import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.ingestion.sources.models import SourceConnection, SyncRun
from portal.ingestion.sources.services import sync_run_start
from portal.ingestion.sources.sync import sync_run_execute


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "Pull a web-service source now, in this process (or replay a run's kept pages with --replay RUN), "
        "and print one JSON line: records, rows_loaded, rows_rejected, pages, retries, seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the source's name, as in its spec")
        parser.add_argument("--replay", type=int, metavar="RUN", help="read this run's kept pages instead")

    def handle(self, *args, name, replay, **options):
        connection = SourceConnection.objects.filter(source__name__iexact=name).select_related("source").first()
        if connection is None:
            raise CommandError(f"No web-service source named {name!r}; load its spec with ingestion_source_load.")
        replay_of = None
        if replay is not None:
            replay_of = SyncRun.objects.filter(pk=replay).first()
            if replay_of is None:
                raise CommandError(f"No run #{replay}.")
        try:
            run = sync_run_start(actor=None, connection=connection, replay_of=replay_of, enqueue=False)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        run = sync_run_execute(run_id=run.pk)
        if run.status != SyncRun.Status.SUCCEEDED:
            self.stderr.write(f"pull {run.get_status_display().lower()}: {run.error}")
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "status": run.status,
                    "records": run.records,
                    "rows_loaded": run.rows_loaded,
                    "rows_rejected": run.rows_rejected,
                    "pages": run.pages,
                    "retries": run.retries,
                    "seconds": run.seconds,
                }
            )
        )
        if run.status != SyncRun.Status.SUCCEEDED:
            raise SystemExit(1)
