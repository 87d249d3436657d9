"""Changes to a policy in force: endorsements, cancellations, suspensions, reinstatements and lapses,
each a new immutable version when the terms or the premium change."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.dates import business_date, whole_months_between
from portal.core.exceptions import Conflict
from portal.outbox.models import EventType
from portal.payments.selectors import lapse_due_on, lapse_grace_days
from portal.payments.services import instalments_cancel_after_lapse

from .. import prorata
from ..events import policy_event_publish
from ..lifecycle import (
    CANCELLABLE,
    IN_FORCE,
    LAPSABLE,
    REINSTATABLE,
    refuse_if_cancellation_scheduled,
    require_status,
    status_on,
)
from ..models import Policy, PolicyVersion
from ..rating import price
from .shared import (
    lock_policy,
    schedule_premium,
)


def _next_version(policy, *, actor, kind, reason, effective_date, premium_change, **terms):
    current = policy.current_version
    values = {
        "start_date": current.start_date,
        "end_date": current.end_date,
        "sum_insured": current.sum_insured,
        "insured_age": current.insured_age,
        "currency": current.currency,
        "coverages": current.coverages,
        "premium": current.premium,
        "breakdown": current.breakdown,
        **terms,
    }
    version = PolicyVersion.objects.create(
        policy=policy,
        number=current.number + 1,
        kind=kind,
        effective_date=effective_date,
        premium_change=premium_change,
        reason=reason,
        created_by=actor,
        **values,
    )
    policy.current_version = version
    return version


def _require_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: it is kept with the version.")})
    return reason[:255]


def _check_effective_date(policy, effective_date):
    current = policy.current_version
    if effective_date is None:
        raise ValidationError({"effective_date": _("Enter the date the change takes effect.")})
    if not current.start_date <= effective_date < current.end_date:
        raise ValidationError(
            {
                "effective_date": _("The date must fall within the cover period, %(start)s to %(end)s.")
                % {"start": date_format(current.start_date), "end": date_format(current.end_date)}
            }
        )
    if effective_date < current.effective_date:
        raise ValidationError(
            {
                "effective_date": _("The last change took effect on %(day)s; a new one cannot take effect before it.")
                % {"day": date_format(current.effective_date)}
            }
        )


def _versions(policy):
    return list(PolicyVersion.objects.filter(policy=policy).order_by("number"))


def endorsement_preview(*, policy, effective_date, sum_insured=None, coverage_codes=None, insured_age=None):
    """What an endorsement would do (nothing is written): (new terms, pricing, pro-rata premium change).

    Raises ValidationError exactly as `policy_endorse` would, so a form can show the reason live.
    """
    require_status(policy, IN_FORCE, "endorse")
    refuse_if_cancellation_scheduled(policy)
    _check_effective_date(policy, effective_date)
    current = policy.current_version
    terms = {
        "sum_insured": current.sum_insured if sum_insured in (None, "") else sum_insured,
        "coverage_codes": list(coverage_codes)
        if coverage_codes is not None
        else [c["code"] for c in current.coverages],
        "insured_age": (insured_age if insured_age is not None else current.insured_age)
        if policy.product.requires_age
        else None,
    }
    if policy.product.currency != current.currency:
        raise ValidationError(
            _("%(product)s is now sold in %(new)s but this policy is in %(old)s; it cannot be endorsed, only renewed.")
            % {"product": policy.product.name, "new": policy.product.currency, "old": current.currency}
        )
    pricing = price(
        product=policy.product, term_months=whole_months_between(current.start_date, current.end_date), **terms
    )
    terms["sum_insured"] = Decimal(terms["sum_insured"])
    if (
        terms["sum_insured"] == current.sum_insured
        and terms["insured_age"] == current.insured_age
        and {line["code"] for line in pricing.coverages} == {line["code"] for line in current.coverages}
    ):
        raise ValidationError(_("Nothing changes: change the sum insured, the coverages or the insured's age."))
    change = prorata.endorsement_change(
        old_premium=current.premium,
        new_premium=pricing.total,
        start_date=current.start_date,
        end_date=current.end_date,
        effective_date=effective_date,
    )
    return terms, pricing, change


@transaction.atomic
def policy_endorse(*, policy, actor, effective_date, reason, sum_insured=None, coverage_codes=None, insured_age=None):
    """A change of cover mid-term: a new version priced at today's rates, charged or returned pro rata."""
    policy = lock_policy(policy)
    reason = _require_reason(reason)
    current = policy.current_version
    terms, pricing, change = endorsement_preview(
        policy=policy,
        effective_date=effective_date,
        sum_insured=sum_insured,
        coverage_codes=coverage_codes,
        insured_age=insured_age,
    )
    breakdown = pricing.as_breakdown()
    version = _next_version(
        policy,
        actor=actor,
        kind=PolicyVersion.Kind.ENDORSEMENT,
        reason=reason,
        effective_date=effective_date,
        premium_change=change,
        sum_insured=terms["sum_insured"],
        insured_age=terms["insured_age"],
        coverages=breakdown["coverages"],
        premium=pricing.total,
        breakdown=breakdown,
    )
    policy.save(update_fields=["current_version"])
    today = business_date()
    schedule_premium(version, actor=actor, today=today)
    policy_event_publish(policy, event_type=EventType.POLICY_ENDORSED, on=today)
    audit_record(
        actor=actor,
        action="policy.endorsed",
        target=policy,
        metadata={
            "version": version.number,
            "effective_date": effective_date.isoformat(),
            "sum_insured": {"from": str(current.sum_insured), "to": str(terms["sum_insured"])},
            "premium": {"from": str(current.premium), "to": str(pricing.total)},
            "premium_change": str(change),
            "reason": reason,
        },
    )
    return policy


def cancellation_preview(*, policy, effective_date):
    """The pro-rata premium returned if `policy` is cancelled on `effective_date`; refuses exactly
    as `policy_cancel` would, so a form can show the reason live. Nothing is written."""
    require_status(policy, CANCELLABLE, "cancel")
    refuse_if_cancellation_scheduled(policy)
    _check_effective_date(policy, effective_date)
    return prorata.refund_on_cancellation(_versions(policy), effective_date=effective_date)


@transaction.atomic
def policy_cancel(*, policy, actor, effective_date, reason, as_of=None):
    """Cancel from `effective_date` (cover stops at its start); the unearned premium is returned pro rata."""
    policy = lock_policy(policy)
    reason = _require_reason(reason)
    refund = cancellation_preview(policy=policy, effective_date=effective_date)
    version = _next_version(
        policy,
        actor=actor,
        kind=PolicyVersion.Kind.CANCELLATION,
        reason=reason,
        effective_date=effective_date,
        premium_change=-refund,
    )
    schedule_premium(version, actor=actor, today=business_date(as_of))
    previous = policy.status
    status = status_on(version, today=business_date(as_of))
    # A suspended policy stays on hold until the cancellation takes effect.
    if previous != Policy.Status.SUSPENDED or status == Policy.Status.CANCELLED:
        policy.status = status
    if policy.status != previous:
        policy.status_changed_at = timezone.now()
    policy.save(update_fields=["current_version", "status", "status_changed_at"])
    policy_event_publish(
        policy, event_type=EventType.POLICY_CANCELLED, on=business_date(as_of), refund=str(refund), reason=reason
    )
    audit_record(
        actor=actor,
        action="policy.cancelled",
        target=policy,
        metadata={
            "version": version.number,
            "effective_date": effective_date.isoformat(),
            "refund": str(refund),
            "currency": version.currency,
            "reason": reason,
        },
    )
    return policy


@transaction.atomic
def policy_suspend(*, policy, actor, reason):
    """Cover on hold (e.g. non-payment); the terms do not change, so there is no new version."""
    policy = lock_policy(policy)
    require_status(policy, [Policy.Status.ACTIVE], "suspend")
    reason = _require_reason(reason)
    policy.status = Policy.Status.SUSPENDED
    policy.status_changed_at = timezone.now()
    policy.save(update_fields=["status", "status_changed_at"])
    policy_event_publish(policy, event_type=EventType.POLICY_STATUS_CHANGED, on=business_date())
    audit_record(actor=actor, action="policy.suspended", target=policy, metadata={"reason": reason})
    return policy


@transaction.atomic
def policy_reinstate(*, policy, actor, reason, as_of=None):
    """Back in force: a suspended policy resumes; a cancelled one gets a reinstatement version that
    restores its terms from the cancellation date and charges back the premium that was returned."""
    policy = lock_policy(policy)
    current = policy.current_version
    if not current.ends_cover:
        require_status(policy, REINSTATABLE, "reinstate")
    reason = _require_reason(reason)
    today = business_date(as_of)
    if current.end_date <= today:
        raise ValidationError(
            _("The cover period of %(number)s has ended; renew it instead.") % {"number": policy.number}
        )
    metadata = {"from": policy.status, "reason": reason}
    if current.ends_cover:
        restored = PolicyVersion.objects.filter(policy=policy, number__lt=current.number).order_by("-number").first()
        # A cancellation that took effect is undone from its own date (cover without a gap); one
        # still ahead is withdrawn from today, so changes dated from today on stay possible.
        effective = current.effective_date if current.effective_date <= today else max(today, current.start_date)
        version = _next_version(
            policy,
            actor=actor,
            kind=PolicyVersion.Kind.REINSTATEMENT,
            reason=reason,
            effective_date=effective,
            premium_change=-current.premium_change,
            sum_insured=restored.sum_insured,
            insured_age=restored.insured_age,
            coverages=restored.coverages,
            premium=restored.premium,
            breakdown=restored.breakdown,
        )
        metadata.update(version=version.number, premium_change=str(version.premium_change))
        schedule_premium(version, actor=actor, today=today)
    # Withdrawing a cancellation of a suspended policy leaves the suspension for its own reinstatement.
    if not (policy.status == Policy.Status.SUSPENDED and current.ends_cover):
        policy.status = status_on(policy.current_version, today=today)
        policy.status_changed_at = timezone.now()
    policy.save(update_fields=["current_version", "status", "status_changed_at"])
    reinstated = EventType.POLICY_REINSTATED if current.ends_cover else EventType.POLICY_STATUS_CHANGED
    policy_event_publish(policy, event_type=reinstated, on=today)
    audit_record(actor=actor, action="policy.reinstated", target=policy, metadata=metadata)
    return policy


@transaction.atomic
def policy_lapse(*, policy, actor=None, as_of=None):
    """The policy ends for non-payment: an instalment is still unpaid past the grace period
    (AMPARO_LAPSE_GRACE_DAYS). Cover stops today; the instalments due later are cancelled, what fell
    due before stays owed. Terms do not change, so there is no new version. `actor` None is the
    daily task."""

    policy = lock_policy(policy)
    today = business_date(as_of)
    if policy.status not in LAPSABLE:
        raise Conflict(
            _("Policy %(number)s is «%(status)s», so it cannot lapse.")
            % {"number": policy.number, "status": policy.get_status_display()}
        )
    overdue = lapse_due_on(policy, today=today)
    if overdue is None:
        raise ValidationError(
            _("Policy %(number)s has no instalment unpaid for more than %(days)s days; it does not lapse.")
            % {"number": policy.number, "days": lapse_grace_days()}
        )
    previous = policy.status
    policy.status = Policy.Status.LAPSED
    policy.status_changed_at = timezone.now()
    policy.save(update_fields=["status", "status_changed_at"])
    cancelled = instalments_cancel_after_lapse(policy=policy, actor=actor, as_of=today)
    policy_event_publish(policy, event_type=EventType.POLICY_STATUS_CHANGED, on=today)
    audit_record(
        actor=actor,
        actor_label=None if actor else "scheduler",
        action="policy.lapsed",
        target=policy,
        metadata={
            "from": previous,
            "on": today.isoformat(),
            "instalment": overdue.sequence,
            "due": overdue.due_date.isoformat(),
            "outstanding": str(overdue.outstanding),
            "currency": overdue.currency,
            "instalments_cancelled": len(cancelled),
        },
    )
    return policy
