"""Run one catalogue report now, as the system user, into a file:

    python manage.py report_run premium_production --format xlsx --param from=2026-01-01 --output var/p.xlsx

Prints one JSON line: {"rows": .., "seconds": .., "path": .., "sha256": ..}.
"""

import json
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from portal.reports.catalogue import REPORTS
from portal.reports.generate import report_run_generate
from portal.reports.models import ReportFormat, ReportRun
from portal.reports.services import report_run_request, reports_system_user
from portal.reports.storage import report_copy_to


def _language(code):
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        choices = ", ".join(code for code, _name in settings.LANGUAGES)
        raise CommandError(f"--language takes one of {choices}, or es; got {code!r}") from None


def _writable_destination(output):
    """`output` as a path whose directory exists and may be written, checked before any run is stored."""
    destination = Path(output)
    if destination.is_dir():
        raise CommandError(f"--output {output} is a directory; name the file to write")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"--output {output}: cannot create its directory ({error.strerror})") from None
    if not os.access(destination.parent, os.W_OK):
        raise CommandError(f"--output {output}: its directory may not be written")
    return destination


class Command(BaseCommand):
    help = "Run one report of the catalogue as the system user and write it to a file."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(REPORTS))
        parser.add_argument("--format", dest="fmt", choices=ReportFormat.values, default=ReportFormat.CSV)
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--output", required=True)
        parser.add_argument(
            "--language", default=settings.LANGUAGE_CODE, help="The file's language: es or en (headers, PDF)."
        )

    def handle(self, *args, name, fmt, param, output, language, **options):
        parameters = {}
        for pair in param:
            key, separator, value = pair.partition("=")
            if not separator:
                raise CommandError(f"--param takes KEY=VALUE, got {pair!r}")
            parameters[key.strip()] = value.strip()
        language = _language(language)
        destination = _writable_destination(output)
        started = time.perf_counter()
        try:
            with translation.override(language):
                run = report_run_request(
                    report_name=name,
                    fmt=fmt,
                    parameters=parameters,
                    actor=reports_system_user(),
                    language=language,
                    queue=False,
                )
        except (ValidationError, PermissionDenied) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            raise CommandError(" ".join(messages)) from None
        run = report_run_generate(run_id=run.pk)
        if run.status != ReportRun.Status.SUCCEEDED:
            raise CommandError(run.error or f"the run ended {run.status}")
        try:
            report_copy_to(run.stored_name, destination)
        except OSError as error:
            raise CommandError(f"--output {output}: the file could not be written ({error.strerror})") from None
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
