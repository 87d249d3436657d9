"""Writes for web-service sources: loading a spec (creating or updating its source), starting,
cancelling and scheduling sync runs. Keyword-only, one transaction each, audited inside it."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab

from portal.audit.services import audit_record
from portal.core.tasks import enqueue_on_commit, worker_silence

from ..detect import Layout
from ..engine import Batch
from ..models import ImportJob, Source
from .credentials import secret_encrypt, secret_moved_message, secret_retype_needed
from .models import SourceConnection, SyncRun
from .spec import spec_check

CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")


def schedule_check(line):
    """A cron line (minute hour day month weekday) as huey reads it; ValidationError if it is not one."""
    parts = line.split()
    if len(parts) != len(CRON_FIELDS):
        raise ValidationError({"schedule": _("Give five fields: minute hour day month weekday, e.g. */15 * * * *.")})
    try:
        matches = crontab(**dict(zip(CRON_FIELDS, parts, strict=True)))
        matches(timezone.localtime().replace(tzinfo=None))
    except ValueError as exc:
        raise ValidationError({"schedule": _("This is not a cron line: %(error)s") % {"error": exc}}) from exc
    return matches


def source_connection_check(*, spec, secret=None, connection=None, create_only=False):
    """What `source_connection_load` refuses because of what is kept, as a ValidationError, for the
    forms to ask before saving: with `create_only` (a "new source" page), a name already taken; a kept
    secret that `spec` would send to another host without it being typed again."""
    name = " ".join(spec["name"].split())
    existing = Source.objects.filter(name__iexact=name).first() if create_only else None
    if existing is not None:
        raise ValidationError(
            {
                "spec_text": _("name: a source named %(source)s already exists; edit it from its own page.")
                % {"source": existing.name}
            }
        )
    if connection is not None and secret_retype_needed(
        kept_for=connection.spec, encrypted=connection.secret_encrypted, spec=spec, secret=secret
    ):
        raise ValidationError({"secret": secret_moved_message()})


@transaction.atomic
def source_connection_load(*, actor, spec, secret=None, enabled=None, create_only=False):
    """Create the source named in `spec` with its connection, or update both (with `create_only`, the
    portal's "new source" page, an existing name is refused); `secret` (typed by an administrator) is
    kept encrypted, never in the spec. A kept secret is not reused when the spec sends it to another
    host: it must be typed again. Returns the connection."""
    spec = spec_check(spec)
    name = " ".join(spec["name"].split())
    schedule = spec.get("schedule", "").strip()
    if schedule:
        schedule_check(schedule)
    if create_only:
        source_connection_check(spec=spec, create_only=True)
    source = Source.objects.filter(name__iexact=name).first()
    created = source is None
    if created:
        source = Source.objects.create(name=name)
        audit_record(actor=actor, action="ingestion.source_created", target=source)
    connection = SourceConnection.objects.select_for_update().filter(source=source).first()
    if connection is None:
        connection = SourceConnection(source=source)
    elif connection.spec.get("kind") != spec["kind"] and connection.runs.exists():
        raise ValidationError(
            {"kind": _("This source has already pulled %(kind)s bordereaux.") % {"kind": connection.kind}}
        )
    before = connection.spec if connection.pk else None
    source_connection_check(spec=spec, secret=secret, connection=connection if connection.pk else None)
    connection.spec = spec
    connection.schedule = schedule
    if secret:
        connection.secret_encrypted = secret_encrypt(secret)
    if enabled is not None:
        connection.enabled = enabled
    incremental = spec["resource"].get("incremental")
    if not incremental:
        connection.cursor_value = ""
    connection.save()
    audit_record(
        actor=actor,
        action="ingestion.source_connection_saved",
        target=connection,
        metadata={
            "source": source.name,
            "created": before is None,
            "changed": sorted(key for key in spec if before is None or before.get(key) != spec[key]),
            "secret_changed": bool(secret),
        },
    )
    return connection


def _abandon_stale(connection):
    """A run whose worker stopped answering is failed, and its working tables dropped, so the source
    can be pulled again (from the last committed cursor)."""
    stale = SyncRun.objects.select_for_update().filter(
        connection=connection, status=SyncRun.Status.RUNNING, heartbeat_at__lt=timezone.now() - worker_silence()
    )
    for run in stale:
        for job in run.jobs.filter(status=ImportJob.Status.RUNNING):
            Batch(job.kind, job.pk, Layout(**job.layout)).drop()
        run.jobs.filter(status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED, error=_("The worker stopped answering."), finished_at=timezone.now()
        )
        run.status = SyncRun.Status.FAILED
        run.error = _("The worker stopped answering; nothing of this run was loaded.")
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        audit_record(actor=None, action="ingestion.sync_failed", target=run, metadata={"error": run.error})


@transaction.atomic
def sync_run_start(*, actor, connection, replay_of=None, enqueue=True):
    """Queue a pull of `connection` (or a replay of a run's kept pages). One at a time per source."""
    if replay_of is not None and replay_of.connection_id != connection.pk:
        raise ValidationError(_("That run belongs to another source."))
    if replay_of is not None and not replay_of.page_set.exclude(stored_name="").exists():
        raise ValidationError(_("That run's pages are no longer kept; it cannot be replayed."))
    _abandon_stale(connection)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                connection=connection,
                replay_of=replay_of,
                created_by=actor if actor is not None and actor.pk else None,
            )
    except IntegrityError as exc:
        raise ValidationError(_("This source is already being pulled.")) from exc
    audit_record(
        actor=actor,
        action="ingestion.sync_queued",
        target=run,
        metadata={"source": connection.source.name, "replay_of": replay_of.pk if replay_of else None},
    )
    if enqueue:
        enqueue_on_commit("portal.ingestion.tasks.source_sync_process", run_id=run.pk)
    return run


@transaction.atomic
def sync_run_cancel(*, actor, run):
    updated = SyncRun.objects.filter(pk=run.pk, status__in=SyncRun.ACTIVE).update(cancel_requested=True)
    if not updated:
        raise ValidationError(_("This pull has already finished."))
    SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.CANCELLED, finished_at=timezone.now()
    )
    audit_record(actor=actor, action="ingestion.sync_cancel_requested", target=run)


def sync_runs_due(*, now=None):
    """Queue a pull of every enabled source whose schedule matches this minute; returns how many."""
    moment = timezone.localtime(now).replace(tzinfo=None, second=0, microsecond=0)
    started = 0
    for connection in SourceConnection.objects.filter(enabled=True).exclude(schedule="").select_related("source"):
        try:
            due = schedule_check(connection.schedule)(moment)
        except ValidationError:
            continue
        if not due:
            continue
        try:
            sync_run_start(actor=None, connection=connection)
        except ValidationError:
            continue  # still pulling from the last time
        started += 1
    return started
