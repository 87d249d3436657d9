from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.audit.services import audit_record, audit_record_many
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.core.money import format_money, round_money
from portal.policies.models import Policy
from portal.policies.selectors import version_in_force_on

from . import documents, workflow
from .models import (
    ApprovalAuthority,
    BulkTransitionJob,
    BulkTransitionResult,
    Claim,
    ClaimDocument,
    ClaimTransition,
    RejectionReason,
)

# Claims whose approved amount counts against their coverage's limit.
CONSUMING_STATUSES = [Claim.Status.APPROVED, Claim.Status.PAID, Claim.Status.CLOSED]
BULK_CHUNK = 1000


def _today(as_of):
    return as_of or timezone.localdate()


def approval_limit(user, currency):
    """The most `user` may approve on one claim in `currency`, or None when they have no authority."""
    return ApprovalAuthority.objects.filter(user=user, currency=currency).values_list("limit", flat=True).first()


def coverage_of(version, code):
    return next((line for line in version.coverages if line["code"] == code), None)


def coverage_remaining(*, claim_policy, version, coverage_code, excluding=None):
    """The coverage's limit minus what was already approved on it in the version's term."""
    line = coverage_of(version, coverage_code)
    if line is None:
        return Decimal("0")
    used = (
        Claim.objects.filter(
            policy=claim_policy,
            coverage_code=coverage_code,
            status__in=CONSUMING_STATUSES,
            approved_amount__isnull=False,
            loss_date__gte=version.start_date,
            loss_date__lt=version.end_date,
        )
        .exclude(pk=excluding.pk if excluding else None)
        .aggregate(total=Sum("approved_amount"))["total"]
    )
    return Decimal(str(line["limit"])) - (used or Decimal("0"))


def _amount(value, field):
    try:
        amount = round_money(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: _("Enter an amount.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: _("The amount must be more than zero.")})
    return amount


def _claim_number(today):
    return f"SIN-{today.year}-{next_sequence_value(key='claim', year=today.year):06d}"


def _suspended_on(policy, day):
    # A suspension is a status, not a dated version: the policy gives no cover from the day it was
    # suspended until it is reinstated.
    return policy.status == Policy.Status.SUSPENDED and day >= timezone.localdate(policy.status_changed_at)


@transaction.atomic
def claim_file(*, policy, coverage_code, loss_date, claimed_amount, description, actor, as_of=None):
    """First notice of loss: a PENDING claim against the policy version in force on the loss date."""
    today = _today(as_of)
    if actor.role not in workflow.FILING_ROLES:
        raise PermissionDenied(_("Your role may not file claims."))
    amount = _amount(claimed_amount, "claimed_amount")
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Say what happened.")})
    if loss_date > today:
        raise ValidationError({"loss_date": _("The date of loss cannot be in the future.")})
    # The policy row lock serialises every filing and approval on the policy, so two of them cannot
    # both take the same remaining cover.
    policy = Policy.objects.select_for_update(of=("self",)).select_related("customer").get(pk=policy.pk)
    version = version_in_force_on(policy, loss_date)
    if version is None or _suspended_on(policy, loss_date):
        raise ValidationError(
            {
                "loss_date": _("Policy %(number)s gave no cover on %(day)s.")
                % {"number": policy.number, "day": date_format(loss_date)}
            }
        )
    line = coverage_of(version, coverage_code)
    if line is None:
        raise ValidationError({"coverage_code": _("That coverage is not part of the policy on the date of loss.")})
    remaining = coverage_remaining(claim_policy=policy, version=version, coverage_code=coverage_code)
    if amount > remaining:
        raise ValidationError(
            {
                "claimed_amount": _("Only %(remaining)s of this coverage remains in the policy term.")
                % {"remaining": format_money(max(remaining, Decimal("0")), version.currency)}
            }
        )
    now = timezone.now()
    claim = Claim.objects.create(
        number=_claim_number(today),
        policy=policy,
        policy_version=version,
        customer=policy.customer,
        coverage_code=coverage_code,
        coverage_name=line["name"],
        loss_date=loss_date,
        description=description,
        currency=version.currency,
        claimed_amount=amount,
        filed_by=actor,
        created_at=now,
        status_changed_at=now,
    )
    ClaimTransition.objects.create(
        claim=claim, action="file", from_status="", to_status=claim.status, actor=actor, amount=amount, created_at=now
    )
    audit_record(
        actor=actor,
        action="claim.filed",
        target=claim,
        metadata={
            "policy": policy.number,
            "coverage": coverage_code,
            "amount": str(amount),
            "currency": claim.currency,
        },
    )
    return claim


def _locked(claim):
    return Claim.objects.select_for_update(of=("self",)).get(pk=claim.pk)


def _check(claim, transition, actor, *, expected_revision, amount=None):
    if expected_revision is not None and claim.revision != expected_revision:
        raise Conflict(
            _("Claim %(number)s changed while you were looking at it; reload it.") % {"number": claim.number}
        )
    limit = approval_limit(actor, claim.currency) if transition.action == "approve" else None
    refused = workflow.refusal(claim, transition, actor, limit=limit, amount=amount)
    if refused is None:
        return
    kind, message = refused
    raise Conflict(message) if kind == workflow.CONFLICT else PermissionDenied(message)


def _note(note, transition):
    note = (note or "").strip()
    if transition.needs_note and not note:
        raise ValidationError({"note": _("Add a note saying why.")})
    return note


def _apply(claim, transition, actor, *, note, amount=None, reason=None, now):
    """The one place a claim's status changes: claim row, transition row, audit event."""
    from_status = claim.status
    claim.status = transition.target
    claim.revision = F("revision") + 1
    claim.status_changed_at = now
    fields = ["status", "revision", "status_changed_at"]
    if transition.action == "start_review":
        claim.reviewed_by = actor
        claim.assignee = claim.assignee or actor
        fields += ["reviewed_by", "assignee"]
    if transition.action in ("approve", "reject"):
        claim.decided_by = actor
        fields.append("decided_by")
    if transition.action == "approve":
        claim.approved_amount = amount
        fields.append("approved_amount")
    if transition.action == "reject":
        claim.rejection_reason = reason
        fields.append("rejection_reason")
    claim.save(update_fields=fields)
    claim.refresh_from_db(fields=["revision"])
    ClaimTransition.objects.create(
        claim=claim,
        action=transition.action,
        from_status=from_status,
        to_status=transition.target,
        actor=actor,
        note=note,
        amount=amount,
        rejection_reason=reason,
        created_at=now,
    )
    metadata = {"from": from_status, "to": transition.target}
    if note:
        metadata["note"] = note
    if amount is not None:
        metadata.update(amount=str(amount), currency=claim.currency)
    if reason is not None:
        metadata["reason"] = reason.code
    audit_record(actor=actor, action=f"claim.{transition.action}", target=claim, metadata=metadata)
    return claim


def _active_reason(reason):
    if reason is None:
        raise ValidationError({"rejection_reason": _("Pick a rejection reason.")})
    if not isinstance(reason, RejectionReason):
        reason = RejectionReason.objects.filter(pk=reason).first()
    if reason is None or not reason.is_active:
        raise ValidationError({"rejection_reason": _("Pick a rejection reason from the list.")})
    return reason


@transaction.atomic
def claim_transition(*, claim, action, actor, note="", amount=None, rejection_reason=None, expected_revision=None):
    """Make one state-machine move on `claim`, or refuse it whole.

    Refusals: PermissionDenied (role, four-eyes, authority), Conflict (the claim is no longer in a
    state that allows it, or changed since `expected_revision`), ValidationError (bad input).
    """
    transition = workflow.TRANSITIONS.get(action)
    if transition is None or action not in workflow.MANUAL_ACTIONS:
        raise ValidationError(_("Unknown claim action."))
    amount = _amount(amount, "approved_amount") if transition.needs_amount else None
    reason = _active_reason(rejection_reason) if transition.needs_reason else None
    note = _note(note, transition)
    if action == "approve":
        # Lock the policy before the claim, in the same order as filing, so approvals of two
        # claims on one coverage cannot both spend the same remaining cover.
        Policy.objects.select_for_update(of=("self",)).filter(pk=claim.policy_id).first()
    claim = _locked(claim)
    _check(claim, transition, actor, expected_revision=expected_revision, amount=amount)
    if action == "approve":
        if amount > claim.claimed_amount:
            raise ValidationError({"approved_amount": _("You cannot approve more than was claimed.")})
        remaining = coverage_remaining(
            claim_policy=claim.policy, version=claim.policy_version, coverage_code=claim.coverage_code, excluding=claim
        )
        if amount > remaining:
            raise ValidationError(
                {
                    "approved_amount": _("Only %(remaining)s of this coverage remains in the policy term.")
                    % {"remaining": format_money(max(remaining, Decimal("0")), claim.currency)}
                }
            )
    return _apply(claim, transition, actor, note=note, amount=amount, reason=reason, now=timezone.now())


def claim_start_review(*, claim, actor, note="", expected_revision=None):
    return claim_transition(
        claim=claim, action="start_review", actor=actor, note=note, expected_revision=expected_revision
    )


def claim_approve(*, claim, actor, amount, note, expected_revision=None):
    return claim_transition(
        claim=claim, action="approve", actor=actor, amount=amount, note=note, expected_revision=expected_revision
    )


def claim_reject(*, claim, actor, reason, note, expected_revision=None):
    return claim_transition(
        claim=claim,
        action="reject",
        actor=actor,
        rejection_reason=reason,
        note=note,
        expected_revision=expected_revision,
    )


def claim_close(*, claim, actor, note="", expected_revision=None):
    return claim_transition(claim=claim, action="close", actor=actor, note=note, expected_revision=expected_revision)


def claim_reopen(*, claim, actor, note, expected_revision=None):
    return claim_transition(claim=claim, action="reopen", actor=actor, note=note, expected_revision=expected_revision)


@transaction.atomic
def claim_mark_paid(*, claim, actor, payout):
    """APPROVED → PAID, called by the payout service inside the transaction that confirms the payout."""
    transition = workflow.TRANSITIONS["pay"]
    claim = _locked(claim)
    _check(claim, transition, actor, expected_revision=None)
    note = _("Payout %(reference)s confirmed.") % {"reference": getattr(payout, "reference", None) or payout.pk}
    return _apply(claim, transition, actor, note=note, amount=claim.approved_amount, now=timezone.now())


@transaction.atomic
def claim_document_add(*, claim, upload, actor):
    """Attach a photo or PDF to an open claim; the file is checked by its content before it is kept."""
    if actor.role not in workflow.FILING_ROLES:
        raise PermissionDenied(_("Your role may not add documents to claims."))
    claim = _locked(claim)
    if claim.status == Claim.Status.CLOSED:
        raise Conflict(_("Claim %(number)s is closed; reopen it to add documents.") % {"number": claim.number})
    mime, sha256, size = documents.checked_upload(upload)
    stored_name = documents.store_upload(upload, mime)
    try:
        document = ClaimDocument.objects.create(
            claim=claim,
            original_name=Path(upload.name or "").name[-255:],
            stored_name=stored_name,
            content_type=mime,
            size=size,
            sha256=sha256,
            uploaded_by=actor,
        )
    except Exception:
        documents.stored_path(stored_name).unlink(missing_ok=True)
        raise
    audit_record(
        actor=actor,
        action="claim.document_added",
        target=claim,
        metadata={"document": document.pk, "name": document.original_name, "sha256": sha256, "size": size},
    )
    return document


def claim_actions_available(claim, user):
    """The manual moves `user` may make on `claim` right now (the detail page's buttons)."""
    limit = approval_limit(user, claim.currency) if user.role == "SUPERVISOR" else None
    return [
        workflow.TRANSITIONS[action]
        for action in workflow.MANUAL_ACTIONS
        if workflow.refusal(claim, workflow.TRANSITIONS[action], user, limit=limit) is None
    ]


# --- bulk -------------------------------------------------------------------------------------


@transaction.atomic
def bulk_transition_start(*, actor, action, claim_ids, note="", rejection_reason=None):
    """Record a bulk action over `claim_ids` (already scoped to `actor` by the caller)."""
    transition = workflow.TRANSITIONS.get(action)
    if transition is None or action not in workflow.BULK_ACTIONS:
        raise ValidationError({"action": _("Pick an action that can be applied to many claims.")})
    reason = _active_reason(rejection_reason) if transition.needs_reason else None
    note = _note(note, transition)
    claim_ids = sorted(set(claim_ids))
    if not claim_ids:
        raise ValidationError(_("Select at least one claim."))
    job = BulkTransitionJob.objects.create(
        action=action, actor=actor, note=note, rejection_reason=reason, claim_ids=claim_ids, total=len(claim_ids)
    )
    audit_record(
        actor=actor, action="claim.bulk_started", target=job, metadata={"action": action, "claims": len(claim_ids)}
    )
    return job


def bulk_transition_run(*, job):
    """Apply the job's move claim by claim with the same rules as one at a time, a chunk per transaction.

    Each chunk locks its claims in id order (two bulk jobs cannot deadlock), decides every claim
    with `workflow.refusal`, then writes the accepted ones set-wise: one UPDATE, one INSERT of
    transitions, one of audit events and one of results, so progress is visible as chunks commit.
    """
    BulkTransitionJob.objects.filter(pk=job.pk, status=BulkTransitionJob.Status.QUEUED).update(
        status=BulkTransitionJob.Status.RUNNING
    )
    job.refresh_from_db()
    transition = workflow.TRANSITIONS[job.action]
    done = set(BulkTransitionResult.objects.filter(job=job).values_list("claim_id", flat=True))
    pending = [pk for pk in job.claim_ids if pk not in done]
    for start in range(0, len(pending), BULK_CHUNK):
        _bulk_chunk(job, transition, pending[start : start + BULK_CHUNK])
    BulkTransitionJob.objects.filter(pk=job.pk).update(
        status=BulkTransitionJob.Status.FINISHED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


@transaction.atomic
def _bulk_chunk(job, transition, ids):
    actor = job.actor
    claims = list(Claim.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
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
        updates = {"status": transition.target, "revision": F("revision") + 1, "status_changed_at": now}
        if transition.action == "reject":
            updates.update(decided_by=actor, rejection_reason=job.rejection_reason)
        Claim.objects.filter(pk__in=[claim.pk for claim in accepted]).update(**updates)
        if transition.action == "start_review":
            Claim.objects.filter(pk__in=[claim.pk for claim in accepted]).update(reviewed_by=actor)
            Claim.objects.filter(pk__in=[claim.pk for claim in accepted], assignee__isnull=True).update(assignee=actor)
        ClaimTransition.objects.bulk_create(
            [
                ClaimTransition(
                    claim=claim,
                    action=transition.action,
                    from_status=claim.status,
                    to_status=transition.target,
                    actor=actor,
                    note=job.note,
                    rejection_reason=job.rejection_reason,
                    created_at=now,
                )
                for claim in accepted
            ]
        )
        metadata = {"to": transition.target, "bulk_job": str(job.pk)}
        if job.note:
            metadata["note"] = job.note
        audit_record_many(
            actor=actor,
            action=f"claim.{transition.action}",
            entries=[(claim, {**metadata, "from": claim.status}) for claim in accepted],
        )
    BulkTransitionResult.objects.bulk_create(results)
    BulkTransitionJob.objects.filter(pk=job.pk).update(
        processed=F("processed") + len(ids),
        applied=F("applied") + len(accepted),
        refused=F("refused") + len(ids) - len(accepted),
    )
