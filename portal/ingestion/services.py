import codecs
import hashlib
import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.tasks import enqueue_on_commit, worker_silence
from portal.core.virus_scan import refuse_if_infected

from .detect import detect_layout, missing_required
from .fields import FIELDS, Kind
from .models import ImportJob, MappingProfile, Source
from .readers import UnreadableFile, first_sheet
from .sources.models import SyncRun
from .storage import bordereau_local_copy, store_upload, stored_delete

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


def _fingerprint(handle):
    """The file's SHA-256, and whether all of it is valid UTF-8 (the layout detector only sees
    the beginning, and a Windows-1252 accent may first appear a million rows down)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    handle.seek(0)
    return digest.hexdigest(), utf8


@transaction.atomic
def source_create(*, actor, name):
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the source a name.")})
    if Source.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A source with this name already exists.")})
    source = Source.objects.create(name=name)
    audit_record(actor=actor, action="ingestion.source_created", target=source)
    return source


@transaction.atomic
def profile_save(*, actor, source, kind, **settings):
    """Create or update the source's profile for `kind` with the given settings."""
    column_map = settings.get("column_map") or {}
    known = {spec.name for spec in FIELDS.get(kind, ())}
    unknown = sorted(set(column_map) - known)
    if unknown:
        raise ValidationError(_("Unknown fields in the mapping: %(fields)s") % {"fields": ", ".join(unknown)})
    headers = [header for header in column_map.values() if header]
    if len(headers) != len(set(headers)):
        raise ValidationError(_("Each column of the file can feed one field only."))
    profile, created = MappingProfile.objects.select_for_update().get_or_create(source=source, kind=kind)
    changed = {}
    for name, value in settings.items():
        if getattr(profile, name) != value:
            changed[name] = value
            setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    if created or changed:
        audit_record(
            actor=actor,
            action="ingestion.profile_saved",
            target=profile,
            metadata={"kind": kind, "changed": sorted(changed)},
        )
    return profile


def period_from_text(text):
    """'2026-10' (or a date in that month) -> date(2026, 10, 1)."""
    try:
        year, month = (int(part) for part in str(text).strip()[:7].split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"period": _("Give the period as a month, e.g. 2026-10.")}) from exc


@transaction.atomic
def import_job_create(*, actor, source, kind, period, upload, original_name, enqueue=True):
    """Store the file, hash it and queue its import. The same file twice for a source is refused."""
    if kind not in (Kind.RISK, Kind.CLAIMS):
        raise ValidationError({"kind": _("Choose risk or claims.")})
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": _("The file is larger than 1 GB.")})
    try:
        refuse_if_infected(upload)
    except ValidationError as refusal:
        raise ValidationError({"file": refusal.messages}) from refusal
    sha256, utf8 = _fingerprint(upload)
    earlier = ImportJob.objects.filter(source=source, kind=kind, sha256=sha256, status__in=ImportJob.HOLDS_FILE).first()
    if earlier is not None:
        raise ValidationError(
            {
                "file": _("This file was already imported for %(source)s as job #%(job)d on %(date)s.")
                % {"source": source.name, "job": earlier.pk, "date": timezone.localtime(earlier.created_at).date()}
            }
        )
    job = ImportJob(
        source=source,
        kind=kind,
        period=period,
        original_name=original_name[:255],
        sha256=sha256,
        size_bytes=size,
        layout={"utf8": utf8},
        created_by=actor if actor is not None and actor.pk else None,
    )
    job.stored_name = store_upload(upload, original_name)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError as exc:
        stored_delete(job.stored_name)
        raise ValidationError({"file": _("This file is already being imported for this source.")}) from exc
    audit_record(
        actor=actor,
        action="ingestion.import_queued",
        target=job,
        metadata={"source": source.name, "kind": kind, "sha256": sha256, "size": size, "period": str(period)},
    )
    if enqueue:
        _queue_or_ask_for_mapping(job)
    return job


def _queue_or_ask_for_mapping(job):
    """Look at the file's layout now, so the uploader learns at once when it needs a mapping."""
    profile = MappingProfile.objects.filter(source=job.source, kind=job.kind).first()
    try:
        with bordereau_local_copy(job.stored_name) as path:
            layout = detect_layout(
                path,
                job.kind,
                profile=profile,
                original_name=job.original_name,
                whole_file_is_utf8=job.layout.get("utf8"),
            )
    except UnreadableFile as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        first_sheet.cache_clear()
        audit_record(actor=job.created_by, action="ingestion.import_failed", target=job, metadata={"error": str(exc)})
        job.refresh_from_db()
        return
    first_sheet.cache_clear()  # the web process must not keep a workbook in memory
    ImportJob.objects.filter(pk=job.pk).update(layout=layout.as_dict())
    _remember_layout(job, profile, layout)
    if missing_required(layout, job.kind):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.MAPPING)
        job.refresh_from_db()
        return
    _enqueue(job)


def _remember_layout(job, profile, layout):
    """Keep the last detected layout on the source's profile (creating it on the first upload),
    so that the profile page can offer the file's own column names."""
    if profile is None:
        profile_save(
            actor=job.created_by,
            source=job.source,
            kind=job.kind,
            column_map={name: layout.headers[index] for name, index in layout.columns.items()},
            detected=layout.as_dict(),
        )
    else:
        MappingProfile.objects.filter(pk=profile.pk).update(detected=layout.as_dict())


def _enqueue(job):
    enqueue_on_commit("portal.ingestion.tasks.import_job_process", job_id=job.pk)


@transaction.atomic
def import_job_map_columns(*, job, actor, column_map):
    """Save the mapping chosen on the mapping screen into the source's profile and queue the job."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.MAPPING:
        raise ValidationError(_("This import does not need a column mapping any more."))
    headers = job.layout.get("headers", [])
    unknown = [header for header in column_map.values() if header and header not in headers]
    if unknown:
        raise ValidationError(_("These columns are not in the file: %(columns)s") % {"columns": ", ".join(unknown)})
    chosen = [header for header in column_map.values() if header]
    if len(chosen) != len(set(chosen)):
        raise ValidationError(_("Each column of the file can feed one field only."))
    missing = [spec.label for spec in FIELDS[job.kind] if spec.required and not column_map.get(spec.name)]
    if missing:
        raise ValidationError(_("Choose a column for: %(fields)s") % {"fields": ", ".join(missing)})
    profile_save(actor=actor, source=job.source, kind=job.kind, column_map={k: v for k, v in column_map.items() if v})
    job.status = ImportJob.Status.QUEUED
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "heartbeat_at"])
    audit_record(actor=actor, action="ingestion.columns_mapped", target=job, metadata={"column_map": column_map})
    _enqueue(job)
    return job


@transaction.atomic
def bordereau_upload(*, actor, source, new_source_name, kind, period, upload, original_name):
    """An upload from the portal: the new source (if one is named) and the job, or neither."""
    if source is None:
        source = source_create(actor=actor, name=new_source_name)
    return import_job_create(
        actor=actor, source=source, kind=kind, period=period, upload=upload, original_name=original_name
    )


@transaction.atomic
def import_job_cancel(*, job, actor):
    updated = ImportJob.objects.filter(pk=job.pk, status__in=[*ImportJob.ACTIVE, ImportJob.Status.MAPPING]).update(
        cancel_requested=True
    )
    if not updated:
        raise ValidationError(_("This import has already finished."))
    ImportJob.objects.filter(pk=job.pk, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.MAPPING]).update(
        status=ImportJob.Status.CANCELLED, finished_at=timezone.now()
    )
    audit_record(actor=actor, action="ingestion.import_cancel_requested", target=job)


def import_job_retry_refusal(job):
    """Why `job` cannot be run again, or None: the retry refuses with it and the job's page offers
    "Run again" only when it is None."""
    if SyncRun.objects.filter(jobs=job).exists():
        return _(
            "This import came from a pull of a web service and has no file to read again: "
            "pull the source again, or replay the run, from Bordereaux from web services."
        )
    stale = (
        job.status == ImportJob.Status.RUNNING
        and job.heartbeat_at is not None
        and job.heartbeat_at < timezone.now() - worker_silence()
    )
    if job.status in (ImportJob.Status.FAILED, ImportJob.Status.CANCELLED) or stale:
        return None
    return _("Only a failed or cancelled import, or one whose worker stopped answering, can be run again.")


@transaction.atomic
def import_job_retry(*, job, actor):
    """Queue a failed, cancelled or interrupted import again; it starts from the beginning."""
    refusal = import_job_retry_refusal(job)
    if refusal is not None:
        raise ValidationError(refusal)
    other = (
        ImportJob.objects.filter(
            source=job.source_id, kind=job.kind, sha256=job.sha256, status__in=ImportJob.HOLDS_FILE
        )
        .exclude(pk=job.pk)
        .first()
    )
    if other is not None:
        raise ValidationError(
            _("This file has since been imported again as job #%(job)d; open that one instead.") % {"job": other.pk}
        )
    retryable = Q(status__in=[ImportJob.Status.FAILED, ImportJob.Status.CANCELLED]) | Q(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=timezone.now() - worker_silence()
    )
    try:
        with transaction.atomic():
            updated = ImportJob.objects.filter(retryable, pk=job.pk).update(
                status=ImportJob.Status.QUEUED,
                cancel_requested=False,
                error="",
                progress=0,
                heartbeat_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ValidationError(_("This file is being imported by another job for this source.")) from exc
    if not updated:
        raise ValidationError(
            _("Only a failed or cancelled import, or one whose worker stopped answering, can be run again.")
        )
    job.row_errors.all().delete()
    audit_record(actor=actor, action="ingestion.import_retried", target=job)
    _enqueue(job)


def _silent_imports(cutoff):
    """Jobs a worker should be running but nothing has heard of since `cutoff`: running with an old
    heartbeat, or queued (at upload, mapping or retry, which set the heartbeat) and never picked up.
    Pulls of web services are left to their own run's recovery (they have no file to read again)."""
    pulled = SyncRun.jobs.through.objects.values("importjob_id")
    return (
        ImportJob.objects.filter(
            Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=cutoff)
            | Q(status=ImportJob.Status.QUEUED, heartbeat_at__lt=cutoff)
            | Q(status=ImportJob.Status.QUEUED, heartbeat_at=None, created_at__lt=cutoff)
        )
        .exclude(pk__in=pulled)
        .order_by("pk")
    )


def import_jobs_requeue_silent(*, now=None):
    """Queue again every import whose worker went silent (see `_silent_imports`); returns how many.

    Each job is taken under its row lock (SKIP LOCKED) and re-checked, so two schedulers never requeue
    it twice, and the requeue stamps the heartbeat, so the next sweep leaves it alone for a window. It
    starts from the beginning: its rows are written in one transaction at its end and keyed by their
    natural key, so what a dead run left is replaced, never doubled. A job whose cancel was asked is
    cancelled instead. A live worker that was merely slow finds its job taken (`runner`) and stops."""
    now = now or timezone.now()
    cutoff = now - worker_silence()
    requeued = 0
    for job_id in list(_silent_imports(cutoff).values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            job = _silent_imports(cutoff).select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None:
                continue
            silent_since = job.heartbeat_at or job.created_at
            if job.cancel_requested:
                ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CANCELLED, finished_at=now)
                audit_record(actor=None, actor_label="scheduler", action="ingestion.import_cancelled", target=job)
                continue
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.QUEUED, error="", progress=0, started_at=None, heartbeat_at=now
            )
            job.row_errors.all().delete()
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="ingestion.import_requeued",
                target=job,
                metadata={"was": job.status, "silent_since": silent_since.isoformat()},
            )
            _enqueue(job)
        requeued += 1
    return requeued
