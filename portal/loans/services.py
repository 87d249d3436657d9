"""Every write to loans: keyword-only functions, one transaction each, the audit event inside it.

A move on a loan locks the loan's row first, checks the move with `workflow.refusal` against the
current task it then sees, and finishes that task and starts the next one (moving `current_task`)
in the same transaction. The database refuses a second open task and a stale pointer on its own
(migrations 0001 and 0002), so a path that forgot the lock would fail rather than corrupt a loan.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.accounts.selectors import book_scope_q
from portal.audit.services import audit_record
from portal.core.dates import add_months, business_date
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.core.money import format_money, round_money
from portal.core.tasks import dashboard_figures_moved, enqueue_on_commit
from portal.customers.models import Customer
from portal.payments.models import Instalment
from portal.payments.services import loan_disbursement_record
from portal.policies.models import Policy

from . import amortization, bureau, documents, workflow
from .models import (
    AccountState,
    Loan,
    LoanApprovalAuthority,
    LoanDocument,
    LoanInstalment,
    LoanTask,
    TaskKind,
    TaskOutcome,
)

logger = logging.getLogger(__name__)

CREDIT_CHECK_TASK = "portal.loans.tasks.loan_credit_check"


def approval_limit(user, currency):
    """The most `user` may approve on one loan in `currency`, or None when they have no authority."""
    return LoanApprovalAuthority.objects.filter(user=user, currency=currency).values_list("limit", flat=True).first()


def _raise(refused):
    kind, message = refused
    raise Conflict(message) if kind == workflow.CONFLICT else PermissionDenied(message)


def _amount(value, field):
    try:
        amount = Decimal(str(value).strip())
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: _("Enter an amount.")}) from None
    if amount <= 0:
        raise ValidationError({field: _("The amount must be more than zero.")})
    return round_money(amount)


def _months(value, field):
    try:
        months = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: _("Enter the number of months.")}) from None
    return months


def loan_terms(*, product, amount, tenure_months):
    """The checked amount and tenure of a loan of `product`, with its fee and instalment: what a quote
    shows and an application freezes. ValidationError names every field that is out of bounds."""
    errors = {}
    try:
        amount = _amount(amount, "amount")
        if not product.min_amount <= amount <= product.max_amount:
            errors["amount"] = [
                _("Lend between %(low)s and %(high)s on this product.")
                % {
                    "low": format_money(product.min_amount, product.currency),
                    "high": format_money(product.max_amount, product.currency),
                }
            ]
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        tenure_months = _months(tenure_months, "tenure_months")
        if not product.min_tenure_months <= tenure_months <= product.max_tenure_months:
            errors["tenure_months"] = [
                _("The tenure is between %(low)s and %(high)s months on this product.")
                % {"low": product.min_tenure_months, "high": product.max_tenure_months}
            ]
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    fee = round_money(amount * product.fee_pct / 100 + product.fee_flat)
    return {
        "amount": amount,
        "tenure_months": tenure_months,
        "annual_rate_pct": product.annual_rate_pct,
        "fee": fee,
        "instalment": amortization.instalment_amount(amount, product.annual_rate_pct, tenure_months),
    }


def _eligibility(*, product, customer, policy, amount, today):
    """ValidationError when the product's rules refuse this customer, policy and amount."""
    if not product.is_active:
        raise ValidationError({"product": _("This loan product is no longer offered.")})
    if product.requires_policy:
        if policy is None:
            raise ValidationError({"policy": _("Pick the policy the loan is against.")})
        if policy.customer_id != customer.pk:
            raise ValidationError({"policy": _("The policy must be the customer's own.")})
        if policy.status != Policy.Status.ACTIVE:
            raise ValidationError({"policy": _("Policy %(number)s is not in force.") % {"number": policy.number}})
        share = product.max_share_of_sum_insured_pct
        if share is not None and policy.current_version_id:
            ceiling = round_money(policy.current_version.sum_insured * share / 100)
            if amount > ceiling:
                raise ValidationError(
                    {
                        "amount": _("At most %(ceiling)s can be lent against policy %(number)s.")
                        % {"ceiling": format_money(ceiling, product.currency), "number": policy.number}
                    }
                )
    if not product.allows_overdue_instalments:
        overdue = Instalment.objects.filter(
            account__customer=customer, status=Instalment.Status.OPEN, due_date__lt=today
        ).exists()
        if overdue:
            raise ValidationError(_("The customer has overdue premium instalments; they must be paid first."))


def _may_apply_for(actor, customer):
    if actor.role == Role.CLIENT:
        return customer.user_id == actor.pk
    if actor.role not in workflow.APPLYING:
        return False
    return Customer.objects.filter(book_scope_q(actor)).filter(pk=customer.pk).exists()


@transaction.atomic
def loan_apply(*, product, customer, actor, amount, tenure_months, policy=None, as_of=None):
    """A NEW loan for `customer`, applied for by their agent (or a supervisor or admin over that
    book) or by the customer in the app; its terms are frozen from the product now."""
    if not _may_apply_for(actor, customer):
        raise PermissionDenied(_("You may apply for loans only for customers in your book."))
    today = business_date(as_of)
    terms = loan_terms(product=product, amount=amount, tenure_months=tenure_months)
    if policy is not None:
        policy = Policy.objects.select_related("current_version").get(pk=policy.pk)
    _eligibility(product=product, customer=customer, policy=policy, amount=terms["amount"], today=today)
    now = timezone.now()
    loan = Loan.objects.create(
        number=f"PRE-{today.year}-{next_sequence_value(key='loan', year=today.year):06d}",
        product=product,
        customer=customer,
        policy=policy if product.requires_policy else None,
        currency=product.currency,
        principal=terms["amount"],
        tenure_months=terms["tenure_months"],
        annual_rate_pct=terms["annual_rate_pct"],
        fee_amount=terms["fee"],
        instalment_amount=terms["instalment"],
        applied_by=actor,
        applied_at=now,
        status_changed_at=now,
    )
    audit_record(
        actor=actor,
        action="loan.applied",
        target=loan,
        metadata={
            "product": product.code,
            "amount": str(loan.principal),
            "currency": loan.currency,
            "tenure_months": loan.tenure_months,
            "rate": str(loan.annual_rate_pct),
        },
    )
    return loan


# --- the task machinery ---------------------------------------------------------------------------


def _locked(loan):
    return Loan.objects.select_for_update(of=("self",)).select_related("product", "customer").get(pk=loan.pk)


def _facts(loan, actor):
    task = LoanTask.objects.get(pk=loan.current_task_id) if loan.current_task_id else None
    done = {t.kind: t for t in LoanTask.objects.filter(loan=loan, outcome=TaskOutcome.PASSED)}
    kyc, check = done.get(TaskKind.KYC), done.get(TaskKind.CREDIT_CHECK)
    return workflow.LoanFacts(
        task=task,
        kyc_by=kyc.completed_by_id if kyc else None,
        override_by=check.overridden_by_id if check else None,
        has_documents=LoanDocument.objects.filter(loan=loan).exists(),
        approval_limit=approval_limit(actor, loan.currency) if actor and actor.role == Role.SUPERVISOR else None,
    )


def _check(loan, action, actor, *, expected_task=None):
    """The loan's facts when `actor` may make `action` now; else the refusal, raised. `expected_task`
    is the task the person was looking at: once the loan has moved past it, the move is refused."""
    facts = _facts(loan, actor)
    if expected_task not in (None, "") and str(expected_task).strip() != str(loan.current_task_id or ""):
        raise Conflict(_("Loan %(number)s changed while you were looking at it; reload it.") % {"number": loan.number})
    refused = workflow.refusal(loan, action, actor, facts)
    if refused:
        _raise(refused)
    return facts


def _note(note, action):
    note = (note or "").strip()
    if action.needs_note and not note:
        raise ValidationError({"note": _("Add a note saying why.")})
    return note


def _start(loan, kind, actor, now):
    """Open the loan's `kind` task and point the loan at it (the loan row is locked by the caller)."""
    try:
        with transaction.atomic():
            task = LoanTask.objects.create(loan=loan, kind=kind, started_by=actor, started_at=now)
    except IntegrityError:
        # The partial unique index: another open task exists, which the lock should have shown.
        raise Conflict(_("Loan %(number)s already has an open task.") % {"number": loan.number}) from None
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.IN_PROGRESS, current_task=task, status_changed_at=now)
    dashboard_figures_moved()  # the dashboards' loan pipeline; an update sends no post_save
    loan.status, loan.current_task, loan.status_changed_at = Loan.Status.IN_PROGRESS, task, now
    audit_record(actor=actor, action="loan.task_started", target=loan, metadata={"task": kind, "task_id": task.pk})
    if kind == TaskKind.CREDIT_CHECK:
        enqueue_on_commit(CREDIT_CHECK_TASK, task_id=task.pk)
    return task


def _finish(loan, task, actor, *, outcome, note, now, ended=None, **fields):
    """Complete the loan's current task with `outcome` and move the loan on, in the caller's transaction:
    the next task starts (PASSED), or the loan ends (REFUSED, or the last task PASSED) with the loan
    fields in `ended` set by the same UPDATE as its status (the row's check constraints see them together)."""
    updated = LoanTask.objects.filter(pk=task.pk, completed_at__isnull=True).update(
        outcome=outcome, completed_by=actor, completed_at=now, note=note, **fields
    )
    if not updated:
        raise Conflict(_("Loan %(number)s has moved on from that step; reload it.") % {"number": loan.number})
    audit_record(
        actor=actor,
        action="loan.task_completed",
        target=loan,
        metadata={"task": task.kind, "task_id": task.pk, "outcome": outcome, **({"note": note} if note else {})},
    )
    next_kind = workflow.next_task_kind(
        set(LoanTask.objects.filter(loan=loan, outcome=TaskOutcome.PASSED).values_list("kind", flat=True))
    )
    if outcome == TaskOutcome.PASSED and next_kind is not None:
        return _start(loan, next_kind, actor, now)
    status = Loan.Status.COMPLETED if outcome == TaskOutcome.PASSED else Loan.Status.REJECTED
    changes = {"status": status, "current_task": None, "status_changed_at": now, **(ended or {})}
    Loan.objects.filter(pk=loan.pk).update(**changes)
    dashboard_figures_moved()
    for name, value in changes.items():
        setattr(loan, name, value)
    audit_record(actor=actor, action=f"loan.{status.lower()}", target=loan, metadata={"task": task.kind})
    return None


@transaction.atomic
def loan_task_start(*, loan, actor, expected_task=None):
    """Start the loan's next task (the first one, KYC, on a NEW loan). Refused while one is open."""
    action = workflow.ACTIONS["start"]
    loan = _locked(loan)
    _check(loan, action, actor, expected_task=expected_task)
    kind = workflow.next_task_kind(
        set(LoanTask.objects.filter(loan=loan, outcome=TaskOutcome.PASSED).values_list("kind", flat=True))
    )
    return _start(loan, kind, actor, timezone.now())


@transaction.atomic
def loan_act(*, loan, action, actor, note="", payee_account="", expected_task=None, as_of=None):
    """Make one workflow move on `loan` (see workflow.ACTIONS), or refuse it whole: PermissionDenied
    (role, four eyes, authority), Conflict (the loan moved on), ValidationError (bad input)."""
    move = workflow.ACTIONS.get(action)
    if move is None or action in ("start", "withdraw"):
        raise ValidationError(_("Unknown loan action."))
    refused = workflow.role_refusal(move, actor)
    if refused:
        _raise(refused)
    note = _note(note, move)
    payee_account = (payee_account or "").strip()
    if move.needs_payee and not payee_account:
        raise ValidationError({"payee_account": _("Enter the bank and account number the money goes to.")})
    loan = _locked(loan)
    facts = _check(loan, move, actor, expected_task=expected_task)
    task, now = facts.task, timezone.now()
    if action == "credit_rerun":
        LoanTask.objects.filter(pk=task.pk).update(check_error="")
        audit_record(actor=actor, action="loan.credit_check_requested", target=loan, metadata={"task_id": task.pk})
        enqueue_on_commit(CREDIT_CHECK_TASK, task_id=task.pk)
        return loan
    if action == "disbursement_prepare":
        LoanTask.objects.filter(pk=task.pk).update(
            prepared_by=actor, prepared_at=now, payee_account=payee_account[:120]
        )
        audit_record(
            actor=actor,
            action="loan.disbursement_prepared",
            target=loan,
            metadata={"amount": str(loan.principal), "currency": loan.currency},
        )
        return loan
    extra = {"overridden_by": actor} if action == "credit_override" else {}
    ended = _disburse(loan, actor, as_of=as_of) if action == "disbursement_confirm" else None
    _finish(loan, task, actor, outcome=move.outcome, note=note, now=now, ended=ended, **extra)
    return loan


def _disburse(loan, actor, *, as_of):
    """The transfer and ledger entries, and the repayment schedule from the day the money leaves;
    returns the loan fields its completion sets."""
    today = business_date(as_of)
    payment = loan_disbursement_record(
        customer=loan.customer,
        currency=loan.currency,
        amount=loan.principal,
        fee=loan.fee_amount,
        reference=loan.number,
        actor=actor,
        source=loan,
        as_of=as_of,
    )
    rows = amortization.schedule(
        loan.principal, loan.annual_rate_pct, loan.tenure_months, first_due=add_months(today, 1)
    )
    dashboard_figures_moved()  # the portfolio outstanding: a bulk_create sends no post_save
    LoanInstalment.objects.bulk_create(
        [
            LoanInstalment(
                loan=loan,
                sequence=row.sequence,
                due_date=row.due_date,
                principal=row.principal,
                interest=row.interest,
                fee=loan.fee_amount if row.sequence == 1 else 0,
                balance_after=row.balance_after,
            )
            for row in rows
        ]
    )
    return {"disbursed_on": today, "disbursement_payment": payment, "account_state": AccountState.ACTIVE}


def loan_task_complete(*, loan, task, actor, outcome, note="", payee_account=""):
    """Complete `task` (which must be the loan's current task) with `outcome`: the move that means that
    for its kind (a KYC passed, an approval refused...). The staff API's "complete"."""
    action = workflow.COMPLETING.get((task.kind, outcome))
    if action is None:
        raise ValidationError({"outcome": _("That outcome does not complete this task.")})
    return loan_act(
        loan=loan, action=action, actor=actor, note=note, payee_account=payee_account, expected_task=task.pk
    )


@transaction.atomic
def loan_withdraw(*, loan, actor, note="", expected_task=None):
    """The customer (or their agent for them) withdraws the application before the money leaves."""
    move = workflow.ACTIONS["withdraw"]
    loan = _locked(loan)
    if actor.role == Role.CLIENT and loan.customer.user_id != actor.pk:
        raise PermissionDenied(_("You may withdraw only your own loans."))
    facts = _check(loan, move, actor, expected_task=expected_task)
    now = timezone.now()
    note = (note or "").strip()
    if facts.task is not None:
        LoanTask.objects.filter(pk=facts.task.pk, completed_at__isnull=True).update(
            outcome=TaskOutcome.CANCELLED, completed_by=actor, completed_at=now, note=note
        )
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.WITHDRAWN, current_task=None, status_changed_at=now)
    dashboard_figures_moved()
    loan.status, loan.current_task = Loan.Status.WITHDRAWN, None
    audit_record(actor=actor, action="loan.withdrawn", target=loan, metadata={"note": note} if note else {})
    return loan


# --- the credit check, run by the worker ----------------------------------------------------------


def _record_check_error(task_pk, message):
    with transaction.atomic():
        updated = LoanTask.objects.filter(pk=task_pk, completed_at__isnull=True, score__isnull=True).update(
            check_error=message[:255]
        )
        if updated:
            task = LoanTask.objects.select_related("loan").get(pk=task_pk)
            audit_record(
                actor=None,
                action="loan.credit_check_failed",
                target=task.loan,
                metadata={"task_id": task_pk, "error": message[:255]},
            )


def loan_credit_check_run(*, task_id, client=None):
    """Ask the bureau for the task's loan and record its answer. A score at or above the product's
    minimum passes the check and starts the approval; a lower one waits for a supervisor (override or
    confirm the refusal). No answer is recorded as a problem and raised again for the worker to retry:
    a check never passes without a score."""
    task = LoanTask.objects.select_related("loan__customer", "loan__product").filter(pk=task_id).first()
    if task is None or not task.is_open or task.kind != TaskKind.CREDIT_CHECK or task.score is not None:
        return task
    loan = task.loan
    try:
        report = (client or bureau.BureauClient()).credit_report(
            reference=loan.number,
            idempotency_key=f"{loan.number}-{task.pk}",
            id_type=loan.customer.id_type,
            id_number=loan.customer.id_number,
            amount=loan.principal,
            currency=loan.currency,
            tenure_months=loan.tenure_months,
        )
    except bureau.BureauRefused as refused:
        _record_check_error(task.pk, _("The credit bureau refused the enquiry: %(reason)s") % {"reason": refused})
        return task
    except bureau.BureauUnavailable as failure:
        _record_check_error(task.pk, _("The credit bureau did not answer: %(reason)s") % {"reason": failure})
        raise
    return _credit_check_record(task_pk=task.pk, report=report)


@transaction.atomic
def _credit_check_record(*, task_pk, report):
    task = LoanTask.objects.get(pk=task_pk)
    loan = _locked(task.loan)
    if loan.current_task_id != task.pk or task.score is not None:
        return task  # the loan moved on (withdrawn) or another run recorded the answer first
    now = timezone.now()
    LoanTask.objects.filter(pk=task.pk).update(
        score=report.score, reasons=report.reasons, bureau_reference=report.report_id, checked_at=now, check_error=""
    )
    passed = report.score >= loan.product.min_credit_score
    audit_record(
        actor=None,
        action="loan.credit_checked",
        target=loan,
        metadata={"score": report.score, "minimum": loan.product.min_credit_score, "passed": passed},
    )
    if passed:
        _finish(loan, task, None, outcome=TaskOutcome.PASSED, note="", now=now)
    task.refresh_from_db()
    return task


# --- documents ------------------------------------------------------------------------------------


def document_refusal(loan, actor):
    """Why `actor` may not add a document to `loan` now, or None: staff who work loans, or the customer
    whose loan it is (from the app), while the loan is still open, before its money is disbursed. The
    loan page and the app ask the same before they offer the upload."""
    if actor.role == Role.CLIENT:
        if loan.customer.user_id != actor.pk:
            return PermissionDenied(_("This loan is not yours."))
    elif actor.role not in workflow.STAFF_WORKING:
        return PermissionDenied(_("Your role may not add documents to loans."))
    if not loan.is_open:
        return Conflict(_("Loan %(number)s is closed to new documents.") % {"number": loan.number})
    return None


@transaction.atomic
def loan_document_add(*, loan, upload, actor):
    """Attach an identity or income document to an open loan; checked by its content before it is kept."""
    if actor.role not in workflow.STAFF_WORKING and actor.role != Role.CLIENT:
        raise PermissionDenied(_("Your role may not add documents to loans."))
    loan = _locked(loan)
    refused = document_refusal(loan, actor)
    if refused is not None:
        raise refused

    def create(**stored):
        document = LoanDocument.objects.create(loan=loan, uploaded_by=actor, **stored)
        audit_record(
            actor=actor,
            action="loan.document_added",
            target=loan,
            metadata={
                "document": document.pk,
                "name": document.original_name,
                "sha256": stored["sha256"],
                "size": stored["size"],
            },
        )
        return document

    return documents.LOAN_DOCUMENT.keep(upload, create)


def loan_actions_available(loan, user):
    """The moves `user` may make on `loan` right now (the loan page's buttons, the API's `actions`)."""
    facts = _facts(loan, user)
    return [
        move
        for move in workflow.ACTIONS.values()
        if not (user.role == Role.CLIENT and move.action != "withdraw")
        and workflow.refusal(loan, move, user, facts) is None
    ]
