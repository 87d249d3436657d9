"""Run one catalogue report now, as the system user, into a file:

    python manage.py report_run premium_production --format xlsx --param from=2026-01-01 --output var/p.xlsx

Prints one JSON line: {"rows": .., "seconds": .., "path": .., "sha256": ..}.
"""

import json
import time
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import Role, User
from portal.reports.catalogue import REPORTS
from portal.reports.generate import report_run_generate
from portal.reports.models import ReportFormat, ReportRun
from portal.reports.services import report_run_request
from portal.reports.storage import report_copy_to

SYSTEM_EMAIL = "reports@amparo.system"


def system_user():
    """The account operators' runs are recorded under: an administrator who cannot sign in."""
    user, created = User.objects.get_or_create(
        email_primary=SYSTEM_EMAIL,
        defaults={"full_name": "Amparo reports", "role": Role.ADMIN, "id_type": "NIT", "id_number": "REPORTS-SYSTEM"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = "Run one report of the catalogue as the system user and write it to a file."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(REPORTS))
        parser.add_argument("--format", dest="fmt", choices=ReportFormat.values, default=ReportFormat.CSV)
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--output", required=True)

    def handle(self, *args, name, fmt, param, output, **options):
        parameters = {}
        for pair in param:
            key, separator, value = pair.partition("=")
            if not separator:
                raise CommandError(f"--param takes KEY=VALUE, got {pair!r}")
            parameters[key.strip()] = value.strip()
        started = time.perf_counter()
        try:
            run = report_run_request(report_name=name, fmt=fmt, parameters=parameters, actor=system_user())
        except (ValidationError, PermissionDenied) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            raise CommandError(" ".join(messages)) from None
        # In a worker-backed deployment the queued task may already have run it; this is a no-op then.
        run = report_run_generate(run_id=run.pk)
        if run.status != ReportRun.Status.SUCCEEDED:
            raise CommandError(run.error or f"the run ended {run.status}")
        destination = Path(output)
        destination.parent.mkdir(parents=True, exist_ok=True)
        report_copy_to(run.stored_name, destination)
        self.stdout.write(
            json.dumps(
                {
                    "rows": run.row_count,
                    "seconds": round(time.perf_counter() - started, 3),
                    "path": str(destination),
                    "sha256": run.sha256,
                }
            )
        )
