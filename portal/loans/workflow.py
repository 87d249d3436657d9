"""The loan workflow in one place: the tasks in order, the moves on each, who may make them, and why
a move is refused now. Services refuse with `refusal`; the loan page and the API offer exactly the
moves `refusal` allows, so a button never promises what the service refuses."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.accounts.models import Role

from .models import LoanStatus, TaskKind, TaskOutcome

FORBIDDEN = "forbidden"
CONFLICT = "conflict"

TASK_ORDER = [TaskKind.KYC, TaskKind.CREDIT_CHECK, TaskKind.APPROVAL, TaskKind.DISBURSEMENT]
STAFF_WORKING = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
DECIDING = frozenset({Role.SUPERVISOR, Role.ADMIN})
PAYING = frozenset({Role.FINANCE, Role.ADMIN})
APPLYING = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.CLIENT})


@dataclass(frozen=True)
class Action:
    action: str
    label: str
    roles: frozenset
    # The task the move works on (None: the loan itself), and the outcome it gives that task.
    task: str | None = None
    outcome: str | None = None
    needs_note: bool = False
    needs_payee: bool = False
    confirm: str | None = None
    style: str = "primary"


ACTIONS = {
    a.action: a
    for a in [
        Action("start", pgettext_lazy("loan action", "Start the identity check"), STAFF_WORKING),
        Action(
            "kyc_pass",
            pgettext_lazy("loan action", "Identity and income verified"),
            STAFF_WORKING,
            task=TaskKind.KYC,
            outcome=TaskOutcome.PASSED,
            style="success",
        ),
        Action(
            "kyc_refuse",
            pgettext_lazy("loan action", "Refuse: identity or income not proven"),
            STAFF_WORKING,
            task=TaskKind.KYC,
            outcome=TaskOutcome.REFUSED,
            needs_note=True,
            confirm=_("Refuse this loan? The application ends here."),
            style="danger",
        ),
        Action(
            "credit_rerun",
            pgettext_lazy("loan action", "Ask the credit bureau again"),
            STAFF_WORKING,
            task=TaskKind.CREDIT_CHECK,
            style="secondary",
        ),
        Action(
            "credit_override",
            pgettext_lazy("loan action", "Override the bureau's refusal"),
            DECIDING,
            task=TaskKind.CREDIT_CHECK,
            outcome=TaskOutcome.PASSED,
            needs_note=True,
            style="warning",
        ),
        Action(
            "credit_refuse",
            pgettext_lazy("loan action", "Confirm the refusal"),
            DECIDING,
            task=TaskKind.CREDIT_CHECK,
            outcome=TaskOutcome.REFUSED,
            needs_note=True,
            confirm=_("Refuse this loan on its credit check? The application ends here."),
            style="danger",
        ),
        Action(
            "approve",
            pgettext_lazy("loan action", "Approve"),
            DECIDING,
            task=TaskKind.APPROVAL,
            outcome=TaskOutcome.PASSED,
            style="success",
        ),
        Action(
            "reject",
            pgettext_lazy("loan action", "Reject"),
            DECIDING,
            task=TaskKind.APPROVAL,
            outcome=TaskOutcome.REFUSED,
            needs_note=True,
            confirm=_("Reject this loan? The application ends here."),
            style="danger",
        ),
        Action(
            "disbursement_prepare",
            pgettext_lazy("loan action", "Prepare the transfer"),
            PAYING,
            task=TaskKind.DISBURSEMENT,
            needs_payee=True,
        ),
        Action(
            "disbursement_confirm",
            pgettext_lazy("loan action", "Confirm the transfer"),
            PAYING,
            task=TaskKind.DISBURSEMENT,
            outcome=TaskOutcome.PASSED,
            confirm=_("Confirm the transfer? The money leaves and the loan starts running."),
            style="success",
        ),
        Action(
            "withdraw",
            pgettext_lazy("loan action", "Withdraw the application"),
            APPLYING,
            needs_note=False,
            confirm=_("Withdraw this loan application? It cannot be taken up again."),
            style="secondary",
        ),
    ]
}
# What completing each task with each outcome means (the staff API's "complete with an outcome").
COMPLETING = {(a.task, a.outcome): a.action for a in ACTIONS.values() if a.task and a.outcome}


def next_task_kind(done_kinds):
    """The first task of TASK_ORDER not done yet, or None when every task is."""
    return next((kind for kind in TASK_ORDER if kind not in done_kinds), None)


def role_refusal(action, actor):
    if actor is None or not actor.is_authenticated or actor.role not in action.roles:
        return FORBIDDEN, _("Your role cannot “%(action)s” on loans.") % {"action": action.label}
    return None


@dataclass(frozen=True)
class LoanFacts:
    """What the rules read besides the loan row: its current task, and who did the earlier tasks."""

    task: object = None
    kyc_by: int | None = None
    override_by: int | None = None
    has_documents: bool = False
    approval_limit: object = None


def status_refusal(loan, action, task):
    """(CONFLICT, message) when the loan has moved on from where `action` applies, else None."""
    if loan.status not in (LoanStatus.NEW, LoanStatus.IN_PROGRESS):
        return CONFLICT, _("Loan %(number)s is %(status)s; there is nothing left to do on it.") % {
            "number": loan.number,
            "status": loan.get_status_display().lower(),
        }
    if action.action == "start" and loan.current_task_id is not None:
        return CONFLICT, _("Loan %(number)s already has an open task.") % {"number": loan.number}
    if action.task is not None and (task is None or task.kind != action.task or not task.is_open):
        return CONFLICT, _("Loan %(number)s has moved on from that step; reload it.") % {"number": loan.number}
    return None


def refusal(loan, action, actor, facts):
    """Why `actor` may not make `action` on `loan` now, as (kind, message), or None if they may.

    `facts.task` is the loan's current task as the caller locked it. Scope (whose loans the actor
    sees) is the caller's job: a loan out of scope is not found.
    """
    refused = role_refusal(action, actor) or status_refusal(loan, action, facts.task)
    if refused:
        return refused
    task = facts.task
    name = action.action
    if name == "withdraw" and task is not None and task.kind == TaskKind.DISBURSEMENT and task.prepared_by_id:
        return CONFLICT, _("The transfer of loan %(number)s is being made; it can no longer be withdrawn.") % {
            "number": loan.number
        }
    if name == "kyc_pass" and not facts.has_documents:
        return CONFLICT, _("Attach the customer's identity and income documents before verifying them.")
    if name == "credit_rerun" and task.score is not None:
        return CONFLICT, _("The bureau already answered for loan %(number)s.") % {"number": loan.number}
    if name in ("credit_override", "credit_refuse") and task.score is None:
        return CONFLICT, _("The credit bureau has not answered for loan %(number)s yet.") % {"number": loan.number}
    if name in ("approve", "reject"):
        if actor.pk == facts.kyc_by:
            return FORBIDDEN, _("You checked this customer's identity; somebody else must decide on the loan.")
        if actor.pk == facts.override_by:
            return FORBIDDEN, _("You overrode the credit check; somebody else must decide on the loan.")
    over_limit = facts.approval_limit is None or loan.principal > facts.approval_limit
    if name == "approve" and actor.role != Role.ADMIN and over_limit:
        return FORBIDDEN, _("This loan is above your approval limit; an administrator must approve it.")
    if name == "disbursement_prepare" and task.prepared_by_id is not None:
        return CONFLICT, _("The transfer of loan %(number)s is already prepared.") % {"number": loan.number}
    if name == "disbursement_confirm":
        if task.prepared_by_id is None:
            return CONFLICT, _("The transfer of loan %(number)s has not been prepared yet.") % {"number": loan.number}
        if task.prepared_by_id == actor.pk:
            return FORBIDDEN, _("You prepared this transfer; another finance user must confirm it.")
    return None


# The current step in the customer's words (the app's loan page).
CUSTOMER_STEP = {
    TaskKind.KYC: _("We are checking your identity and income documents."),
    TaskKind.CREDIT_CHECK: _("We are checking your credit history."),
    TaskKind.APPROVAL: _("Your loan is waiting for approval."),
    TaskKind.DISBURSEMENT: _("Your loan is approved; the money is on its way."),
}
