"""The claim state machine in one place: which moves exist, who may make each, and what each needs.

Services apply these rules when they change a claim; the detail page and the bulk form ask the
same `refusal` which actions to offer, so a button is shown exactly when the service would accept.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.accounts.models import Role
from portal.core.money import format_money

from .models import ClaimStatus

FORBIDDEN = "forbidden"
CONFLICT = "conflict"


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset
    target: str
    roles: frozenset
    needs_note: bool = False
    needs_amount: bool = False
    needs_reason: bool = False
    # Asked before a destructive move; None for the others.
    confirm: str | None = None
    # Offered in the work queue's bulk form (approval needs an amount per claim, payment a payout).
    bulk: bool = True
    style: str = "primary"


TRANSITIONS = {
    t.action: t
    for t in [
        Transition(
            action="start_review",
            label=pgettext_lazy("claim action", "Start review"),
            sources=frozenset({ClaimStatus.PENDING}),
            target=ClaimStatus.UNDER_REVIEW,
            roles=frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}),
        ),
        Transition(
            action="approve",
            label=pgettext_lazy("claim action", "Approve"),
            sources=frozenset({ClaimStatus.UNDER_REVIEW}),
            target=ClaimStatus.APPROVED,
            roles=frozenset({Role.SUPERVISOR, Role.ADMIN}),
            needs_note=True,
            needs_amount=True,
            bulk=False,
            style="success",
        ),
        Transition(
            action="reject",
            label=pgettext_lazy("claim action", "Reject"),
            sources=frozenset({ClaimStatus.UNDER_REVIEW}),
            target=ClaimStatus.REJECTED,
            roles=frozenset({Role.SUPERVISOR, Role.ADMIN}),
            needs_note=True,
            needs_reason=True,
            confirm=_("Reject this claim? The customer will be told it is not covered."),
            style="danger",
        ),
        Transition(
            action="pay",
            label=pgettext_lazy("claim action", "Mark paid"),
            sources=frozenset({ClaimStatus.APPROVED}),
            target=ClaimStatus.PAID,
            roles=frozenset({Role.FINANCE, Role.ADMIN}),
            bulk=False,
        ),
        Transition(
            action="close",
            label=pgettext_lazy("claim action", "Close"),
            sources=frozenset({ClaimStatus.PAID, ClaimStatus.REJECTED}),
            target=ClaimStatus.CLOSED,
            roles=frozenset({Role.SUPERVISOR, Role.ADMIN}),
            confirm=_("Close this claim? Only an administrator can reopen it."),
            style="secondary",
        ),
        Transition(
            action="reopen",
            label=pgettext_lazy("claim action", "Reopen"),
            sources=frozenset({ClaimStatus.CLOSED}),
            target=ClaimStatus.UNDER_REVIEW,
            roles=frozenset({Role.ADMIN}),
            needs_note=True,
            style="warning",
        ),
    ]
}
# Moves a person makes from the claim page; payment happens only through a confirmed payout.
MANUAL_ACTIONS = [action for action in TRANSITIONS if action != "pay"]
BULK_ACTIONS = [action for action, t in TRANSITIONS.items() if t.bulk]
FILING_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
# Who prepares and confirms the payout that moves an approved claim to PAID.
PAYOUT_ROLES = TRANSITIONS["pay"].roles
# The most claims one bulk action takes; larger selections are refused, to be narrowed by a filter.
BULK_MAX = 10_000


def role_refusal(transition, actor):
    """(FORBIDDEN, message) when `actor`'s role may never make `transition`, else None."""
    if actor.role not in transition.roles:
        return FORBIDDEN, _("Your role cannot use “%(action)s” on claims.") % {"action": transition.label}
    return None


def status_refusal(claim, transition):
    """(CONFLICT, message) when `claim`'s status does not allow `transition` now, else None."""
    if claim.status not in transition.sources:
        return CONFLICT, _("Claim %(number)s is %(status)s now, so it cannot be %(action)s.") % {
            "number": claim.number,
            "status": claim.get_status_display().lower(),
            "action": PAST_TENSE[transition.action],
        }
    return None


def refusal(claim, transition, actor, *, limit=None, amount=None):
    """Why `actor` may not make `transition` on `claim` now, as (kind, message), or None if they may.

    `limit` is the actor's approval authority in the claim's currency (None: they have none).
    Scope (whose claims the actor sees) is the caller's job: a claim out of scope is not found.
    """
    refused = role_refusal(transition, actor) or status_refusal(claim, transition)
    if refused:
        return refused
    if transition.action in ("approve", "reject") and claim.filed_by_id == actor.pk:
        return FORBIDDEN, _("You filed this claim; somebody else must decide on it.")
    if transition.action == "approve" and claim.reviewed_by_id == actor.pk:
        return FORBIDDEN, _("You reviewed this claim; somebody else must approve it.")
    if transition.action == "approve" and actor.role != Role.ADMIN:
        # Authority is over the whole claim: approving part of a claim above the limit is still
        # deciding on it, so the larger of the claimed and the approved amount is what counts.
        exposure = max(claim.claimed_amount, amount or 0)
        if limit is None or exposure > limit:
            return FORBIDDEN, _("This claim is above your approval limit; an administrator must approve it.")
    if transition.action == "approve" and claim.transitions.filter(action="pay").exists():
        # A reopened paid claim cannot be approved again: a second payout of one claim is not
        # modelled, and an approval nobody can pay would leave the claim stuck as APPROVED.
        return FORBIDDEN, _(
            "This claim was paid already and cannot be approved again; reject it with a reason, then close it."
        )
    return None


PAST_TENSE = {
    "start_review": _("put under review"),
    "approve": _("approved"),
    "reject": _("rejected"),
    "pay": _("marked paid"),
    "close": _("closed"),
    "reopen": _("reopened"),
}


def is_policyholder(actor, record):
    """Whether `actor` is the app account of the customer `record` (a policy, a claim) belongs to."""
    return actor.role == Role.CLIENT and record.customer.user_id == actor.pk


def filing_refusal(actor, policy):
    """(FORBIDDEN, message) when `actor` may not file a claim on `policy`, else None.

    Staff in a filing role file for the customers of their book (the caller looks the policy up in
    their scope); a customer files on their own policies only."""
    if actor.role in FILING_ROLES or is_policyholder(actor, policy):
        return None
    return FORBIDDEN, _("Your role may not file claims.")


def document_refusal(claim, actor):
    """Why `actor` may not add documents to `claim` now, as (kind, message), or None if they may."""
    if actor.role not in FILING_ROLES and not is_policyholder(actor, claim):
        return FORBIDDEN, _("Your role may not add documents to claims.")
    if claim.status == ClaimStatus.CLOSED:
        return CONFLICT, _("Claim %(number)s is closed; reopen it to add documents.") % {"number": claim.number}
    return None


def payout_role_refusal(actor):
    """(FORBIDDEN, message) when `actor` may not prepare or confirm claim payouts, else None."""
    if actor is None or not actor.is_authenticated or actor.role not in PAYOUT_ROLES:
        return FORBIDDEN, _("Only finance users and administrators prepare and confirm claim payouts.")
    return None


def payout_refusal(claim, actor):
    """Why `actor` may not prepare the payout of `claim`, as (kind, message), or None if they may
    (payments refuses a second live payout of one claim on its own)."""
    refused = payout_role_refusal(actor)
    if refused:
        return refused
    if claim.status != ClaimStatus.APPROVED:
        return CONFLICT, _("Claim %(number)s is %(status)s; only approved claims are paid.") % {
            "number": claim.number,
            "status": claim.get_status_display().lower(),
        }
    return None


# What each recorded move means to the customer (the app's timeline and notifications): what happened
# to their claim, never who on the staff did it or their internal notes.
CUSTOMER_WORDS = {
    "file": _("We received your claim."),
    "start_review": _("An adjuster is reviewing your claim."),
    "approve": _("Your claim was approved for %(amount)s."),
    "reject": _("Your claim was not approved: %(reason)s."),
    "pay": _("We paid your claim: %(amount)s."),
    "close": _("Your claim was closed."),
    "reopen": _("Your claim was reopened and is being reviewed again."),
}


def customer_words(entry, currency):
    """A timeline entry (ClaimTransition) of a claim in `currency`, told to the customer."""
    words = CUSTOMER_WORDS.get(entry.action)
    if words is None:
        return str(ClaimStatus(entry.to_status).label)
    reason = entry.rejection_reason.label if entry.rejection_reason_id else ""
    amount = format_money(entry.amount, currency) if entry.amount is not None else ""
    return str(words) % {"amount": amount, "reason": reason}
