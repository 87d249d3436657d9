import json
import shlex
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from portal.ingestion.detect import detect_layout, missing_required, normalise_header, suggest_columns
from portal.ingestion.fields import FIELDS, Kind
from portal.ingestion.models import ImportJob, MappingProfile, Source
from portal.ingestion.readers import UnreadableFile
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_create, period_from_text, profile_save, source_create
from portal.ingestion.storage import bordereau_local_copy, stored_delete


class Refused(Exception):
    """The file lacks required columns: nothing was kept, and the message says how to go on."""


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
        parser.add_argument(
            "--map",
            action="append",
            dest="column_pairs",
            default=[],
            metavar="FIELD=HEADER",
            help="read FIELD (e.g. umr) from the column headed HEADER; repeatable; saved to the source's profile",
        )
        parser.add_argument(
            "--accept-suggestions",
            action="store_true",
            help="map each field no header names to the column suggested for it; saved to the source's profile",
        )

    def handle(self, *args, path, source, kind, period, column_pairs, accept_suggestions, **options):
        started = time.perf_counter()
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"No such file: {path}")
        period_text = period or timezone.localdate().strftime("%Y-%m")
        overrides = self._overrides(column_pairs, kind)
        self.command_line = shlex.join(
            [
                "python",
                "manage.py",
                "import_bordereau",
                path,
                "--source",
                source,
                "--kind",
                kind,
                "--period",
                period_text,
            ]
        )
        try:
            period_date = period_from_text(period_text)
            with transaction.atomic():
                job = self._create(file_path, source, kind, period_date, overrides, accept_suggestions)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except Refused as refusal:
            self.stderr.write(str(refusal))
            raise SystemExit(1) from refusal
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

    def _overrides(self, pairs, kind):
        known = [spec.name for spec in FIELDS[kind]]
        overrides = {}
        for pair in pairs:
            name, equals, header = pair.partition("=")
            name, header = name.strip(), header.strip()
            if not equals or not header:
                raise CommandError(
                    f'--map wants FIELD=HEADER, e.g. --map "umr=Unique Market Reference (UMR)"; got {pair!r}'
                )
            if name not in known:
                raise CommandError(
                    f"--map {pair!r}: no field {name!r} in a {kind} bordereau; the fields: {', '.join(known)}"
                )
            overrides[name] = header
        return overrides

    def _create(self, file_path, source, kind, period, overrides, accept_suggestions):
        """The source (if new), the job and the profile, in one transaction: a refused file keeps none."""
        source_obj = Source.objects.filter(name__iexact=source).first()
        if source_obj is None:
            source_obj = source_create(actor=None, name=source)
        with file_path.open("rb") as handle:
            job = import_job_create(
                actor=None,
                source=source_obj,
                kind=kind,
                period=period,
                upload=handle,
                original_name=file_path.name,
                enqueue=False,
            )
        try:
            self._map_columns(job, overrides, accept_suggestions)
        except Refused:
            stored_delete(job.stored_name)
            raise
        return job

    def _map_columns(self, job, overrides, accept_suggestions):
        """Detect the layout with the profile's mapping and `overrides` (on the stored copy that the
        import reads next, so a workbook is loaded once), accept the suggestions if asked, refuse a
        file that still lacks a required column, and save the mapping to the source's profile."""
        profile = MappingProfile.objects.filter(source=job.source, kind=job.kind).first()
        column_map = {**(profile.column_map if profile else {}), **overrides}
        layout = self._detect(job, profile, column_map)
        if layout is None:
            return  # the import fails the job with the reason
        absent = [header for header in overrides.values() if normalise_header(header) not in _keys(layout.headers)]
        if absent:
            raise Refused(f"Not a column of the file: {', '.join(absent)}. Its columns: {', '.join(layout.headers)}\n")
        suggestions = suggest_columns(layout.headers, job.kind, layout.columns)
        if accept_suggestions and suggestions:
            column_map = {**column_map, **suggestions}
            layout = self._detect(job, profile, column_map)
        missing = missing_required(layout, job.kind)
        if missing:
            raise Refused(_refusal(job.kind, missing, suggestions, overrides, self.command_line))
        if profile is None or overrides or accept_suggestions:
            profile_save(
                actor=None,
                source=job.source,
                kind=job.kind,
                column_map={name: layout.headers[index] for name, index in layout.columns.items()},
                detected=layout.as_dict(),
            )

    def _detect(self, job, profile, column_map):
        settings = MappingProfile(kind=job.kind, column_map=column_map)
        if profile is not None:
            settings = MappingProfile(
                **{
                    name: getattr(profile, name)
                    for name in ("kind", "encoding", "delimiter", "date_format", "decimal_style", "header_row")
                },
                column_map=column_map,
            )
        try:
            with bordereau_local_copy(job.stored_name) as path:
                return detect_layout(
                    path,
                    job.kind,
                    profile=settings,
                    original_name=job.original_name,
                    whole_file_is_utf8=job.layout.get("utf8"),
                )
        except UnreadableFile:
            return None


def _keys(headers):
    return {normalise_header(header) for header in headers}


def _refusal(kind, missing, suggestions, overrides, command_line):
    """The missing fields with the columns suggested for them (and for the optional fields no
    header names), and the command line that maps them all."""
    lines = [f"Missing required columns: {', '.join(spec.label for spec in missing)}."]
    for spec in FIELDS[kind]:
        suggested = suggestions.get(spec.name)
        if spec in missing:
            lines.append(
                f"  {spec.label} ({spec.name}): "
                + (f"suggested column {suggested!r}" if suggested else "no column looks like it; name it with --map")
            )
        elif suggested:
            lines.append(f"  {spec.label} ({spec.name}, optional): suggested column {suggested!r}")
    maps = [f"{name}={header}" for name, header in {**overrides, **suggestions}.items()]
    arguments = " ".join(f"--map {shlex.quote(pair)}" for pair in maps)
    if all(spec.name in suggestions for spec in missing):
        lines.append("To import it with the suggested columns (saved to the source's profile):")
    else:
        lines.append("With the suggested columns, and a --map for each field without one:")
    lines.append(f"  {command_line} {arguments}")
    return "\n".join(lines) + "\n"
