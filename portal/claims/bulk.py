"""Bulk claim actions: a job over many claims, applied chunk by chunk with the same rules as one claim
at a time (workflow.refusal), by the web worker for a few claims or by a huey worker for many, and
queued again by the minute's sweep when its worker goes silent."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from portal.audit.services import audit_record, audit_record_many
from portal.core.tasks import dashboard_figures_moved, enqueue_on_commit, heartbeat, worker_silence

from . import notices, workflow
from .models import BulkTransitionJob, BulkTransitionResult, Claim, ClaimTransition
from .services import _active_reason, _audit_metadata, _changes, _note, _raise

logger = logging.getLogger(__name__)

BULK_CHUNK = 1000
# What a bulk chunk reads of each claim: what `workflow.refusal` and `_changes` look at.
BULK_CLAIM_FIELDS = [
    "number",
    "status",
    "revision",
    "currency",
    "claimed_amount",
    "filed_by",
    "reviewed_by",
    "assignee",
]


def _claim_ids(claim_ids):
    try:
        return sorted({int(pk) for pk in claim_ids})
    except (TypeError, ValueError):
        raise ValidationError(_("Select claims from the list.")) from None


@transaction.atomic
def bulk_transition_start(*, actor, action, claim_ids, note="", rejection_reason=None):
    """Record a bulk action over `claim_ids` (already scoped to `actor` by the caller)."""
    transition = workflow.TRANSITIONS.get(action)
    if transition is None or action not in workflow.BULK_ACTIONS:
        raise ValidationError({"action": _("Pick an action that can be applied to many claims.")})
    refused = workflow.role_refusal(transition, actor)
    if refused is not None:
        _raise(refused)
    reason = _active_reason(rejection_reason) if transition.needs_reason else None
    note = _note(note, transition)
    claim_ids = _claim_ids(claim_ids)
    if not claim_ids:
        raise ValidationError(_("Select at least one claim."))
    if len(claim_ids) > workflow.BULK_MAX:
        raise ValidationError(
            _("A bulk action takes at most %(max)s claims at a time; narrow the filter.")
            % {"max": number_format(workflow.BULK_MAX, force_grouping=True)}
        )
    job = BulkTransitionJob.objects.create(
        action=action, actor=actor, note=note, rejection_reason=reason, claim_ids=claim_ids, total=len(claim_ids)
    )
    audit_record(
        actor=actor, action="claim.bulk_started", target=job, metadata={"action": action, "claims": len(claim_ids)}
    )
    return job


def _silent_bulk_jobs(cutoff):
    """Bulk jobs queued or running that nothing has heard of since `cutoff` (the worker, or the web
    worker running a small one in its request, was killed)."""
    active = [BulkTransitionJob.Status.QUEUED, BulkTransitionJob.Status.RUNNING]
    return BulkTransitionJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff), status__in=active
    ).order_by("pk")


def bulk_transitions_requeue_silent(*, now=None):
    """Queue again every bulk job whose worker went silent; returns how many. Each is taken under its
    row lock (SKIP LOCKED) and re-checked, so two schedulers never requeue it twice, and the requeue
    stamps its heartbeat, so the next sweep leaves it alone for a window. The run skips the claims
    already decided, so it finishes the job and moves each claim once."""
    now = now or timezone.now()
    cutoff = now - worker_silence()
    requeued = 0
    for job_id in list(_silent_bulk_jobs(cutoff).values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            job = _silent_bulk_jobs(cutoff).select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None:
                continue
            BulkTransitionJob.objects.filter(pk=job.pk).update(status=BulkTransitionJob.Status.QUEUED, heartbeat_at=now)
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="claim.bulk_requeued",
                target=job,
                metadata={"was": job.status, "processed": job.processed, "total": job.total},
            )
            enqueue_on_commit("portal.claims.tasks.bulk_transition_process", job_id=str(job.pk))
        requeued += 1
    return requeued


def bulk_transition_submit(*, actor, action, claim_ids, note="", rejection_reason=None):
    """Start a bulk action and run it: in this request when it is small enough to answer at once
    (AMPARO_CLAIM_BULK_IN_REQUEST claims), else in the worker once the job is committed."""
    job = bulk_transition_start(
        actor=actor, action=action, claim_ids=claim_ids, note=note, rejection_reason=rejection_reason
    )
    if job.total <= settings.AMPARO_CLAIM_BULK_IN_REQUEST:
        return bulk_transition_run(job=job)
    enqueue_on_commit("portal.claims.tasks.bulk_transition_process", job_id=str(job.pk))
    return job


def bulk_transition_run(*, job):
    """Apply the job's move claim by claim with the same rules as one at a time, a chunk per transaction.

    Each chunk locks the job, then its claims in id order (two bulk jobs cannot deadlock), skips the
    claims that already have a result (a job run again after a crash, or by two workers at once,
    applies each claim once), decides every claim with `workflow.refusal`, then writes the accepted
    ones set-wise: one UPDATE per kind of change, one INSERT of transitions, one of audit events and
    one of results, so progress is visible as chunks commit.
    """
    if job.status == BulkTransitionJob.Status.FINISHED:
        return job
    # A job that failed is run again from where it stopped, like one whose worker died.
    BulkTransitionJob.objects.filter(
        pk=job.pk, status__in=[BulkTransitionJob.Status.QUEUED, BulkTransitionJob.Status.FAILED]
    ).update(status=BulkTransitionJob.Status.RUNNING, error="", finished_at=None, heartbeat_at=timezone.now())
    job.refresh_from_db()
    transition = workflow.TRANSITIONS[job.action]
    done = set(BulkTransitionResult.objects.filter(job=job).values_list("claim_id", flat=True))
    pending = [pk for pk in job.claim_ids if pk not in done]
    try:
        with heartbeat(BulkTransitionJob.objects.filter(pk=job.pk, status=BulkTransitionJob.Status.RUNNING)):
            for start in range(0, len(pending), BULK_CHUNK):
                _bulk_chunk(job, transition, pending[start : start + BULK_CHUNK])
    except Exception:
        logger.exception("bulk claim job %s failed", job.pk)
        BulkTransitionJob.objects.filter(pk=job.pk).update(
            status=BulkTransitionJob.Status.FAILED,
            finished_at=timezone.now(),
            error=_("The bulk action stopped on an unexpected error; the claims listed as done were changed."),
        )
        raise
    finally:
        # Once for the whole job: the refresh window would swallow every chunk after the first.
        dashboard_figures_moved(at_once=True)
    BulkTransitionJob.objects.filter(pk=job.pk).update(
        status=BulkTransitionJob.Status.FINISHED, finished_at=timezone.now(), error=""
    )
    job.refresh_from_db()
    return job


@transaction.atomic
def _bulk_chunk(job, transition, ids):
    BulkTransitionJob.objects.select_for_update().filter(pk=job.pk).first()
    done = set(BulkTransitionResult.objects.filter(job=job, claim_id__in=ids).values_list("claim_id", flat=True))
    ids = [pk for pk in ids if pk not in done]
    if not ids:
        return
    actor = job.actor
    reason = job.rejection_reason
    claims = list(
        Claim.objects.select_for_update(of=("self",)).filter(pk__in=ids).only(*BULK_CLAIM_FIELDS).order_by("pk")
    )
    found = {claim.pk for claim in claims}
    now = timezone.now()
    accepted, results = [], []
    for pk in ids:
        if pk not in found:
            results.append(BulkTransitionResult(job=job, claim_id=pk, outcome="REFUSED", message=_("Claim not found.")))
    for claim in claims:
        refused = workflow.refusal(claim, transition, actor)
        if refused is None:
            accepted.append(claim)
            results.append(BulkTransitionResult(job=job, claim=claim, outcome="DONE"))
        else:
            results.append(BulkTransitionResult(job=job, claim=claim, outcome="REFUSED", message=str(refused[1])[:255]))
    if accepted:
        _bulk_apply(job, transition, accepted, actor=actor, reason=reason, now=now)
    BulkTransitionResult.objects.bulk_create(results)
    BulkTransitionJob.objects.filter(pk=job.pk).update(
        processed=F("processed") + len(ids),
        applied=F("applied") + len(accepted),
        refused=F("refused") + len(ids) - len(accepted),
        heartbeat_at=now,
    )


def _bulk_apply(job, transition, claims, *, actor, reason, now):
    """The set-wise twin of `_apply` for claims already locked and accepted: the same rows, fewer statements."""
    by_changes = {}
    for claim in claims:
        changes = _changes(transition, actor, claim, reason=reason)
        by_changes.setdefault(tuple(changes.items()), []).append(claim.pk)
    # Claims that need the same values are updated together: one UPDATE for all, or, when putting
    # claims under review, one for those that already have an assignee and one for those that do not.
    for changes, pks in by_changes.items():
        Claim.objects.filter(pk__in=pks).update(
            status=transition.target, status_changed_at=now, revision=F("revision") + 1, **dict(changes)
        )
    entries = ClaimTransition.objects.bulk_create(
        [
            ClaimTransition(
                claim=claim,
                action=transition.action,
                from_status=claim.status,
                to_status=transition.target,
                actor=actor,
                note=job.note,
                rejection_reason=reason,
                created_at=now,
            )
            for claim in claims
        ],
        batch_size=BULK_CHUNK,
    )
    notices.customers_tell([entry.pk for entry in entries])
    audit_record_many(
        actor=actor,
        action=f"claim.{transition.action}",
        entries=[
            (
                claim,
                {
                    **_audit_metadata(from_status=claim.status, transition=transition, note=job.note, reason=reason),
                    "bulk_job": str(job.pk),
                },
            )
            for claim in claims
        ],
    )
