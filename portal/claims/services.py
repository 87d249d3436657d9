import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.audit.services import audit_record
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.core.money import format_money, round_money
from portal.core.tasks import dashboard_figures_moved
from portal.policies.models import Policy
from portal.policies.selectors import version_in_force_on

from . import documents, notices, workflow
from .models import (
    ApprovalAuthority,
    Claim,
    ClaimDocument,
    ClaimTransition,
    RejectionReason,
)

logger = logging.getLogger(__name__)

# Claims whose approved amount counts against their coverage's limit: approved, paid, closed after
# payment, and a paid claim reopened for review (the money is out). A rejection clears the approved
# amount, so a claim rejected or closed after a rejection never counts.
CONSUMING_STATUSES = [Claim.Status.APPROVED, Claim.Status.PAID, Claim.Status.CLOSED, Claim.Status.UNDER_REVIEW]


def _today(as_of):
    return as_of or timezone.localdate()


def approval_limit(user, currency):
    """The most `user` may approve on one claim in `currency`, or None when they have no authority."""
    return ApprovalAuthority.objects.filter(user=user, currency=currency).values_list("limit", flat=True).first()


def coverage_of(version, code):
    return next((line for line in version.coverages if line["code"] == code), None)


def deductible_of(line, *, claimed_amount):
    """The coverage's deductible as the version states it (`line`), and what it comes to on the amount
    claimed: {pct, minimum, estimate}, or None when the coverage has none."""
    pct, minimum = Decimal(str(line.get("deductible_pct", 0))), Decimal(str(line.get("deductible_min", 0)))
    if pct <= 0 and minimum <= 0:
        return None
    estimate = min(claimed_amount, max(round_money(claimed_amount * pct / 100), minimum))
    return {"pct": pct, "minimum": minimum, "estimate": estimate}


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
        amount = Decimal(str(value).strip())
        if not amount.is_finite():
            raise InvalidOperation
        amount = round_money(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: _("Enter an amount.")}) from None
    if amount <= 0:
        raise ValidationError({field: _("The amount must be more than zero.")})
    return amount


def _claim_number(today):
    return f"SIN-{today.year}-{next_sequence_value(key='claim', year=today.year):06d}"


def _suspended_on(policy, day):
    # Suspension and lapse are statuses, not dated versions: the policy gives no cover from the day
    # its status changed (until a suspension is reinstated; a lapse is final).
    return policy.status in (Policy.Status.SUSPENDED, Policy.Status.LAPSED) and day >= timezone.localdate(
        policy.status_changed_at
    )


def _filing_input(*, claimed_amount, description, loss_date, today):
    """The checked amount and description, or one ValidationError naming every field that is wrong."""
    errors, amount = {}, None
    try:
        amount = _amount(claimed_amount, "claimed_amount")
    except ValidationError as error:
        errors.update(error.message_dict)
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Say what happened.")]
    if loss_date is None:
        errors["loss_date"] = [_("Enter the date of loss.")]
    elif loss_date > today:
        errors["loss_date"] = [_("The date of loss cannot be in the future.")]
    if errors:
        raise ValidationError(errors)
    return amount, description


def _no_more_than_remaining(amount, remaining, currency, field):
    if amount > remaining:
        raise ValidationError(
            {
                field: _("Only %(remaining)s of this coverage remains in the policy term.")
                % {"remaining": format_money(max(remaining, Decimal("0")), currency)}
            }
        )


@transaction.atomic
def claim_file(*, policy, coverage_code, loss_date, claimed_amount, description, actor, as_of=None):
    """First notice of loss: a PENDING claim against the policy version in force on the loss date,
    filed by staff for a customer of their book or by the customer on their own policy (the app)."""
    today = _today(as_of)
    refused = workflow.filing_refusal(actor, policy)
    if refused is not None:
        _raise(refused)
    amount, description = _filing_input(
        claimed_amount=claimed_amount, description=description, loss_date=loss_date, today=today
    )
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
    _no_more_than_remaining(amount, remaining, version.currency, "claimed_amount")
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
    entry = ClaimTransition.objects.create(
        claim=claim, action="file", from_status="", to_status=claim.status, actor=actor, amount=amount, created_at=now
    )
    notices.customers_tell([entry.pk])
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


def _changed(claim):
    return Conflict(_("Claim %(number)s changed while you were looking at it; reload it.") % {"number": claim.number})


def _raise(refused):
    kind, message = refused
    raise Conflict(message) if kind == workflow.CONFLICT else PermissionDenied(message)


def _check(claim, transition, actor, *, expected_revision, amount=None):
    if expected_revision is not None and str(claim.revision) != str(expected_revision).strip():
        raise _changed(claim)
    limit = approval_limit(actor, claim.currency) if transition.action == "approve" else None
    refused = workflow.refusal(claim, transition, actor, limit=limit, amount=amount)
    if refused is not None:
        _raise(refused)


def _note(note, transition):
    note = (note or "").strip()
    if transition.needs_note and not note:
        raise ValidationError({"note": _("Add a note saying why.")})
    return note


def _changes(transition, actor, claim, *, amount=None, reason=None):
    """The claim fields a move sets besides its status, the same for one claim and for a bulk job.

    Whoever puts a claim under review (starting it or reopening it) is its reviewer, and so may not
    approve it. A decision replaces the previous one: approving clears a rejection reason left by a
    reopened rejection, rejecting clears an amount approved before a reopening.
    """
    # By id, so a bulk job reads no related rows and groups claims by the values they get.
    if transition.action == "start_review":
        return {"reviewed_by_id": actor.pk, "assignee_id": claim.assignee_id or actor.pk}
    if transition.action == "reopen":
        return {"reviewed_by_id": actor.pk}
    if transition.action == "approve":
        return {"decided_by_id": actor.pk, "approved_amount": amount, "rejection_reason_id": None}
    if transition.action == "reject":
        return {"decided_by_id": actor.pk, "rejection_reason_id": reason.pk, "approved_amount": None}
    return {}


def _audit_metadata(*, from_status, transition, note, amount=None, currency=None, reason=None):
    metadata = {"from": from_status, "to": transition.target}
    if note:
        metadata["note"] = note
    if amount is not None:
        metadata.update(amount=str(amount), currency=currency)
    if reason is not None:
        metadata["reason"] = reason.code
    return metadata


def _apply(claim, transition, actor, *, note, amount=None, reason=None, now, metadata=None):
    """The one place one claim's status changes: claim row, transition row, audit event.

    The update is conditional on the status and revision the checks saw, so it cannot apply over
    a change it did not see even where the row lock is not available (SQLite).
    """
    from_status = claim.status
    changes = {
        "status": transition.target,
        "status_changed_at": now,
        **_changes(transition, actor, claim, amount=amount, reason=reason),
    }
    updated = Claim.objects.filter(pk=claim.pk, status=from_status, revision=claim.revision).update(
        revision=F("revision") + 1, **changes
    )
    if not updated:
        raise _changed(claim)
    dashboard_figures_moved()  # an update sends no post_save
    for field, value in changes.items():
        setattr(claim, field, value)
    claim.revision += 1
    entry = ClaimTransition.objects.create(
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
    notices.customers_tell([entry.pk])
    audit_record(
        actor=actor,
        action=f"claim.{transition.action}",
        target=claim,
        metadata={
            **_audit_metadata(
                from_status=from_status,
                transition=transition,
                note=note,
                amount=amount,
                currency=claim.currency,
                reason=reason,
            ),
            **(metadata or {}),
        },
    )
    return claim


def _active_reason(reason):
    if reason in (None, ""):
        raise ValidationError({"rejection_reason": _("Pick a rejection reason.")})
    if not isinstance(reason, RejectionReason):
        try:
            reason = RejectionReason.objects.filter(pk=int(reason)).first()
        except (TypeError, ValueError):
            reason = None
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
    # A role that may never make the move is told so before being asked for a note or an amount.
    refused = workflow.role_refusal(transition, actor)
    if refused is not None:
        _raise(refused)
    amount = _amount(amount, "approved_amount") if transition.needs_amount else None
    reason = _active_reason(rejection_reason) if transition.needs_reason else None
    note = _note(note, transition)
    policy = None
    if action == "approve":
        # Lock the policy before the claim, in the same order as filing, so approvals of two
        # claims on one coverage cannot both spend the same remaining cover.
        policy = Policy.objects.select_for_update(of=("self",)).get(pk=claim.policy_id)
    claim = _locked(claim)
    _check(claim, transition, actor, expected_revision=expected_revision, amount=amount)
    if action == "approve":
        if amount > claim.claimed_amount:
            raise ValidationError({"approved_amount": _("You cannot approve more than was claimed.")})
        remaining = coverage_remaining(
            claim_policy=policy, version=claim.policy_version, coverage_code=claim.coverage_code, excluding=claim
        )
        _no_more_than_remaining(amount, remaining, claim.currency, "approved_amount")
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
    """APPROVED → PAID, called by the payout service inside the transaction that confirms the payout.

    `actor` is the finance user or administrator who confirmed it, or None when the confirmation
    came from the gateway itself (the confirmed payout is then the authority).
    """
    transition = workflow.TRANSITIONS["pay"]
    claim = _locked(claim)
    if actor is None:
        refused = workflow.status_refusal(claim, transition)
        if refused is not None:
            _raise(refused)
    else:
        _check(claim, transition, actor, expected_revision=None)
    # The payout's own reference alone, not a sentence: a stored sentence would keep the language of
    # whoever paid. A ClaimPayout has a number; a gateway's confirmation may carry a reference.
    reference = str(getattr(payout, "number", None) or getattr(payout, "reference", None) or payout.pk)
    return _apply(
        claim,
        transition,
        actor,
        note=reference,
        amount=claim.approved_amount,
        now=timezone.now(),
        metadata={"payout": reference},
    )


@transaction.atomic
def claim_document_add(*, claim, upload, actor):
    """Attach a photo or PDF to an open claim; the file is checked by its content before it is kept."""
    claim = _locked(claim)
    refused = workflow.document_refusal(claim, actor)
    if refused:
        _raise(refused)

    def create(**stored):
        document = ClaimDocument.objects.create(claim=claim, uploaded_by=actor, **stored)
        audit_record(
            actor=actor,
            action="claim.document_added",
            target=claim,
            metadata={
                "document": document.pk,
                "name": document.original_name,
                "sha256": stored["sha256"],
                "size": stored["size"],
            },
        )
        return document

    return documents.CLAIM_DOCUMENT.keep(upload, create)


def claim_documents_add(*, claim, uploads, actor):
    """Attach several files, all or none: when one is refused, the files already stored for the
    others are removed with their rows, so a refused upload leaves nothing on disk. The documents kept."""
    added = []
    try:
        with transaction.atomic():
            for upload in uploads:
                added.append(claim_document_add(claim=claim, upload=upload, actor=actor))
    except Exception:
        for document in added:
            documents.stored_delete(document.stored_name)
        raise
    return added


def claim_actions_available(claim, user):
    """The manual moves `user` may make on `claim` right now (the detail page's buttons)."""
    limit = approval_limit(user, claim.currency) if user.role == Role.SUPERVISOR else None
    return [
        workflow.TRANSITIONS[action]
        for action in workflow.MANUAL_ACTIONS
        if workflow.refusal(claim, workflow.TRANSITIONS[action], user, limit=limit) is None
    ]
