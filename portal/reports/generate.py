"""Generating one report run: what the huey task runs (it imports no tasks module; the emails it
sends are queued through the notifications service).

A run is claimed by a conditional update (QUEUED -> RUNNING), so two workers handed the same run
never both write it. The file is written to a scratch file, saved under a random name in private
storage (local disk or a bucket), then its checksum
and size are recorded with the SUCCEEDED status in one transaction with the audit event.
"""

import hashlib
import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.accounts.models import Role, User
from portal.audit.services import audit_record
from portal.core.tasks import heartbeat
from portal.notifications.services import email_queue

from . import writers
from .catalogue import parameters_clean, report_named
from .models import ReportRun, ReportSchedule
from .storage import report_delete, report_store, scratch_path

logger = logging.getLogger(__name__)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _still_mine(run):
    """The run's row while it is still the generation this worker claimed (the sweep's requeue clears it)."""
    return ReportRun.objects.filter(pk=run.pk, status=ReportRun.Status.RUNNING, started_at=run.started_at)


def _progress_updater(run, total):
    def update(count):
        # Writing is most of the work; the last 5 % are the checksum and the status.
        percent = min(95, int(count * 95 / total)) if total else min(90, 10 + count // writers.PROGRESS_EVERY)
        _still_mine(run).update(progress=percent, row_count=count, heartbeat_at=timezone.now())

    return update


def run_link(run):
    return settings.AMPARO_PORTAL_URL.rstrip("/") + reverse("reports:run_detail", args=[run.pk])


def _email_ready(run):
    report = report_named(run.report)
    email_queue(
        to=[run.requested_by.email_primary],
        subject=_("Your report is ready: %(title)s") % {"title": report.title},
        body=_("%(title)s (%(format)s, %(rows)s rows) is ready until %(expires)s:\n%(link)s")
        % {
            "title": report.title,
            "format": run.format.upper(),
            "rows": run.row_count,
            "expires": timezone.localtime(run.expires_at).strftime("%Y-%m-%d %H:%M"),
            "link": run_link(run),
        },
    )


def report_run_generate(*, run_id):
    """Generate the run `run_id` if it is still queued; returns the run (None when there is none)."""
    now = timezone.now()
    claimed = ReportRun.objects.filter(pk=run_id, status=ReportRun.Status.QUEUED).update(
        status=ReportRun.Status.RUNNING, started_at=now, heartbeat_at=now, progress=1
    )
    run = ReportRun.objects.select_related("requested_by").filter(pk=run_id).first()
    if not claimed or run is None:
        return run
    with translation.override(run.language), heartbeat(_still_mine(run)):
        return _generate(run)


def _generate(run):
    report = report_named(run.report)
    path = scratch_path(run.format)
    started = timezone.now()
    try:
        values, _stored = parameters_clean(report, run.parameters, user=run.requested_by)
        data = report.source(run.requested_by, values)
        count, _totals = writers.write(
            report,
            run.format,
            data.rows,
            path,
            parameters=run.parameters,
            requested_by=run.requested_by,
            progress=_progress_updater(run, data.total),
            query=data.query,
        )
        checksum, size = file_sha256(path), path.stat().st_size
        stored_name = report_store(path, run.format)
    except ValidationError as error:
        return _fail(run, " ".join(error.messages))
    except Exception:
        logger.exception("report run %s failed", run.pk)
        return _fail(run, _("The report could not be generated; the error was logged. Try again or tell support."))
    finally:
        path.unlink(missing_ok=True)
    with transaction.atomic():
        finished_at = timezone.now()
        ended = {
            "status": ReportRun.Status.SUCCEEDED,
            "progress": 100,
            "row_count": count,
            "stored_name": stored_name,
            "sha256": checksum,
            "size_bytes": size,
            "finished_at": finished_at,
            "expires_at": finished_at + timedelta(days=settings.AMPARO_REPORT_RETENTION_DAYS),
        }
        if not _still_mine(run).update(**ended):
            # The sweep queued the run again while this worker, silent too long, still wrote it.
            report_delete(stored_name)
            run.refresh_from_db()
            return run
        for name, value in ended.items():
            setattr(run, name, value)
        audit_record(
            actor=run.requested_by,
            action="report.generated",
            target=run,
            metadata={
                "report": run.report,
                "format": run.format,
                "rows": count,
                "sha256": checksum,
                "seconds": round((run.finished_at - started).total_seconds(), 2),
            },
        )
        if run.schedule_id is None and count >= settings.AMPARO_REPORT_EMAIL_MIN_ROWS:
            _email_ready(run)
        if run.schedule_id is not None:
            _email_pack_when_complete(run.schedule_id)
    return run


def _email_pack_when_complete(schedule_id):
    """Once the last run of a schedule's month has ended, email its recipients the links, once (the
    schedule's row lock orders the runs that end together)."""
    schedule = ReportSchedule.objects.select_for_update().get(pk=schedule_id)
    if schedule.last_period is None or schedule.emailed_period == schedule.last_period:
        return
    month_start = timezone.make_aware(datetime.combine(schedule.last_period, time.min))
    runs = list(schedule.runs.filter(requested_at__gte=month_start).order_by("requested_at"))
    if any(run.is_active for run in runs):
        return
    schedule.emailed_period = schedule.last_period
    schedule.save(update_fields=["emailed_period"])
    lines = []
    for run in runs:
        title = report_named(run.report).title
        if run.status == ReportRun.Status.SUCCEEDED:
            lines.append(f"- {title} ({run.format.upper()}, {run.row_count}): {run_link(run)}")
        else:
            lines.append(f"- {title}: " + _("could not be generated (%(error)s)") % {"error": run.error})
    recipients = list(schedule.recipients)
    if schedule.emails_finance:
        finance = User.objects.filter(role=Role.FINANCE, is_active=True).order_by("email_primary")
        recipients += [email for email in finance.values_list("email_primary", flat=True) if email not in recipients]
    if not recipients:
        logger.warning("schedule %s has nobody to email its reports to", schedule.pk)
        return
    email_queue(
        to=recipients,
        subject=_("%(name)s for %(month)s")
        % {"name": schedule.name, "month": (schedule.last_period - timedelta(days=1)).strftime("%Y-%m")},
        body=_("The reports of %(name)s are ready (sign in to download them):") % {"name": schedule.name}
        + "\n"
        + "\n".join(lines),
    )


def _fail(run, message):
    with transaction.atomic():
        if not _still_mine(run).update(status=ReportRun.Status.FAILED, error=message, finished_at=timezone.now()):
            run.refresh_from_db()
            return run
        audit_record(actor=run.requested_by, action="report.failed", target=run, metadata={"report": run.report})
        if run.schedule_id is not None:
            _email_pack_when_complete(run.schedule_id)
    run.refresh_from_db()
    return run
