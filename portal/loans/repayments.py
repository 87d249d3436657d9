"""Money back on a disbursed loan, and the daily ageing of what is late: every write here is a service
(keyword-only, one transaction, audited inside it), split from services.py by operation.

A repayment pays the loan's instalments oldest first, each one's fee, then its interest, then its
principal; what is left after the last open instalment is credit in the customer's favour. A loan whose
every instalment is paid closes. Late instalments put the loan in an arrears bucket (Fineract's ageing)
and remind the customer once per instalment and stage."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.audit.services import audit_record
from portal.core import payment_targets
from portal.core.dates import business_date
from portal.core.exceptions import Conflict
from portal.core.money import format_money, round_money
from portal.core.tasks import dashboard_figures_moved
from portal.notifications.services import email_queue
from portal.payments.models import Payment
from portal.payments.services import loan_repayment_receive

from .models import AccountState, ArrearsBucket, Loan, LoanAllocation, LoanInstalment, LoanReminder, LoanRepayment
from .selectors import loan_outstanding

REPAYING_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.FINANCE, Role.ADMIN})
REPAY_METHODS = [(method, Payment.Method(method).label) for method in Payment.MANUAL_METHODS]
# The bucket a loan is in by the days its oldest unpaid instalment is late.
BUCKETS = [
    (91, ArrearsBucket.DAYS_90_PLUS),
    (61, ArrearsBucket.DAYS_61_90),
    (31, ArrearsBucket.DAYS_31_60),
    (1, ArrearsBucket.DAYS_1_30),
]


def arrears_bucket(days_late):
    return next((bucket for low, bucket in BUCKETS if days_late >= low), ArrearsBucket.CURRENT)


def _amount(value):
    try:
        amount = round_money(Decimal(str(value).strip()))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({"amount": _("Enter an amount.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    return amount


def _allocate(repayment, amount, today):
    """Pay the loan's open instalments oldest first (fee, interest, principal); returns what is left."""
    left = amount
    for instalment in (
        LoanInstalment.objects.select_for_update()
        .filter(loan_id=repayment.loan_id, status=LoanInstalment.Status.OPEN)
        .order_by("sequence")
    ):
        if left <= 0:
            break
        parts = {}
        for part in ("fee", "interest", "principal"):
            due = getattr(instalment, part) - getattr(instalment, f"{part}_paid")
            paid = min(left, due)
            parts[part] = paid
            setattr(instalment, f"{part}_paid", getattr(instalment, f"{part}_paid") + paid)
            left -= paid
        if instalment.outstanding == 0:
            instalment.status, instalment.paid_on = LoanInstalment.Status.PAID, today
        instalment.save(update_fields=["fee_paid", "interest_paid", "principal_paid", "status", "paid_on"])
        LoanAllocation.objects.create(repayment=repayment, instalment=instalment, **parts)
    return left


def repayment_refusal(loan, actor):
    """Why `actor` may not record a repayment on `loan` now, or None (the loan page asks the same)."""
    if actor.role not in REPAYING_ROLES:
        return PermissionDenied(_("Your role may not record loan repayments."))
    if loan.account_state != AccountState.ACTIVE:
        return Conflict(_("Loan %(number)s is not running; there is nothing to repay.") % {"number": loan.number})
    return None


@transaction.atomic
def loan_repayment_record(*, loan, amount, method, reference, actor, as_of=None):
    """Money received on an active loan, by cash or transfer, through the payments ledger."""
    if actor.role not in REPAYING_ROLES:
        raise PermissionDenied(_("Your role may not record loan repayments."))
    amount = _amount(amount)
    loan = Loan.objects.select_for_update(of=("self",)).select_related("customer").get(pk=loan.pk)
    refused = repayment_refusal(loan, actor)
    if refused is not None:
        raise refused
    payment = loan_repayment_receive(
        customer=loan.customer,
        currency=loan.currency,
        amount=amount,
        method=method,
        reference=reference,
        actor=actor,
        source=loan,
        as_of=as_of,
    )
    return _repay(loan, payment, amount, business_date(as_of), actor=actor)


def _repay(loan, payment, amount, today, *, actor):
    """Allocate a payment recorded on a locked loan: its instalments oldest first, the rest as credit,
    the loan closed when nothing is left open (a loan no longer running keeps it all as credit)."""
    repayment = LoanRepayment.objects.create(loan=loan, payment=payment, amount=amount, received_on=today)
    dashboard_figures_moved()  # the portfolio outstanding and arrears; the instalments move by update
    running = loan.account_state == AccountState.ACTIVE
    left = _allocate(repayment, amount, today) if running else amount
    changes = {"credit_balance": F("credit_balance") + left} if left else {}
    if running and not LoanInstalment.objects.filter(loan=loan, status=LoanInstalment.Status.OPEN).exists():
        changes.update(
            account_state=AccountState.CLOSED, closed_at=timezone.now(), arrears_bucket=ArrearsBucket.CURRENT
        )
    if left:
        LoanRepayment.objects.filter(pk=repayment.pk).update(credited=left)
        repayment.credited = left
    if changes:
        Loan.objects.filter(pk=loan.pk).update(**changes)
    # A payment applied late (a webhook backlog, a back-dated receipt) is aged as of now, not as of the
    # day it was received: instalments that fell due since then still count as late.
    bucket = _age(loan, max(today, business_date(None))) if running else loan.arrears_bucket
    audit_record(
        actor=actor,
        actor_label=None if actor is not None else "gateway",
        action="loan.repaid",
        target=loan,
        metadata={
            "amount": str(amount),
            "credited": str(left),
            "payment": payment.pk,
            "method": payment.method,
            "closed": "account_state" in changes,
            "arrears_bucket": bucket,
        },
    )
    loan.refresh_from_db()
    return repayment


def online_repayment_check(*, target_id, customer, amount, currency):
    """Whether `customer` may start an online payment of `amount` on loan `target_id` (the gateways ask
    before calling Wompi): the loan is theirs and running, in that currency, and the amount is no more
    than what is still owed (an online overpayment is a mistake to refuse, not credit to keep)."""
    loan = Loan.objects.filter(pk=target_id, customer=customer).first()
    if loan is None:
        raise ValidationError(_("This loan is not the customer's."))
    if loan.account_state != AccountState.ACTIVE:
        raise Conflict(_("Loan %(number)s is not running; there is nothing to repay.") % {"number": loan.number})
    if currency != loan.currency:
        raise ValidationError(
            {"currency": _("Loan %(number)s is in %(currency)s.") % {"number": loan.number, "currency": loan.currency}}
        )
    owed = loan_outstanding(loan)
    if amount > owed:
        raise ValidationError(
            {
                "amount": _("Loan %(number)s has %(owed)s left to pay; pay at most that.")
                % {"number": loan.number, "owed": format_money(owed, loan.currency)}
            }
        )


@transaction.atomic
def loan_online_repayment_receive(*, target_id, customer, amount, currency, method, reference, source, received_on):
    """A payment Wompi approved for a loan (`source` the locked gateway transaction, which moves to
    APPROVED once, so this runs once per transaction): recorded through the payments ledger under the
    transaction's reference and allocated like any repayment. Money for a loan that stopped running
    since the payment was started is kept as the customer's credit on it, never lost."""
    loan = Loan.objects.select_for_update(of=("self",)).select_related("customer").get(pk=target_id)
    if loan.customer_id != customer.pk or currency != loan.currency:
        raise ValidationError(
            _("Transaction %(reference)s is not payable to loan %(number)s.")
            % {"reference": reference, "number": loan.number}
        )
    payment = loan_repayment_receive(
        customer=loan.customer,
        currency=loan.currency,
        amount=amount,
        method=method,
        reference=reference,
        actor=None,
        source=loan,
        as_of=received_on,
    )
    _repay(loan, payment, amount, business_date(received_on), actor=None)
    return payment


def register_online_repayments():
    """Tell the gateways (through core, which both may import) that loans take online payments."""
    payment_targets.register(
        payment_targets.PaymentTarget(
            label=Loan._meta.label_lower, check=online_repayment_check, receive=loan_online_repayment_receive
        )
    )


def write_off_refusal(loan, actor):
    """Why `actor` may not write off `loan` now, or None (the loan page asks the same before offering it)."""
    if actor.role != Role.ADMIN:
        return PermissionDenied(_("Only administrators write off loans."))
    if loan.account_state != AccountState.ACTIVE:
        return Conflict(_("Loan %(number)s is not running; there is nothing to write off.") % {"number": loan.number})
    return None


@transaction.atomic
def loan_write_off(*, loan, actor, note):
    """An administrator writes off what is left of a running loan that will not be repaid (Fineract's
    WRITTEN_OFF): the account stops running; its unpaid instalments stay as they are, for the record."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators write off loans."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Add a note saying why.")})
    loan = Loan.objects.select_for_update(of=("self",)).get(pk=loan.pk)
    refused = write_off_refusal(loan, actor)
    if refused is not None:
        raise refused
    Loan.objects.filter(pk=loan.pk).update(account_state=AccountState.WRITTEN_OFF, closed_at=timezone.now())
    dashboard_figures_moved()
    audit_record(actor=actor, action="loan.written_off", target=loan, metadata={"note": note})
    loan.refresh_from_db()
    return loan


def _age(loan, today):
    oldest = LoanInstalment.objects.filter(loan=loan, status=LoanInstalment.Status.OPEN, due_date__lt=today).aggregate(
        oldest=Min("due_date")
    )["oldest"]
    bucket = arrears_bucket((today - oldest).days) if oldest else ArrearsBucket.CURRENT
    if (
        Loan.objects.filter(pk=loan.pk, account_state=AccountState.ACTIVE)
        .exclude(arrears_bucket=bucket)
        .update(arrears_bucket=bucket)
    ):
        dashboard_figures_moved()
    return bucket


def loan_arrears_age(*, today=None):
    """Daily: put every running loan in the bucket its oldest late instalment says; returns how many moved."""
    today = business_date(today)
    moved = 0
    for loan in Loan.objects.filter(account_state=AccountState.ACTIVE).only("pk", "arrears_bucket").iterator():
        with transaction.atomic():
            before, after = loan.arrears_bucket, _age(loan, today)
            if after != before:
                audit_record(
                    actor=None,
                    actor_label="scheduler",
                    action="loan.arrears_aged",
                    target=loan,
                    metadata={"from": before, "to": after},
                )
                moved += 1
    return moved


def reminder_stage(days_late):
    """The highest reminder stage an instalment this late has reached, or None before the first."""
    stages = sorted(LoanReminder.Stage.values, reverse=True)
    return next((stage for stage in stages if days_late >= stage), None)


def loan_reminders_send(*, today=None):
    """Daily: email the customer of each late instalment its stage's reminder, once per instalment and
    stage (the reminder row is the claim to send it, so two runs at once send one email)."""
    today = business_date(today)
    sent = 0
    late = (
        LoanInstalment.objects.filter(
            status=LoanInstalment.Status.OPEN, due_date__lt=today, loan__account_state=AccountState.ACTIVE
        )
        .exclude(loan__customer__email_primary="")
        .select_related("loan__customer")
        .order_by("pk")
    )
    for instalment in late.iterator(chunk_size=500):
        stage = reminder_stage((today - instalment.due_date).days)
        if stage is None:
            continue
        customer = instalment.loan.customer
        try:
            with transaction.atomic():
                LoanReminder.objects.create(instalment=instalment, stage=stage, email=customer.email_primary)
                audit_record(
                    actor=None,
                    actor_label="scheduler",
                    action="loan.reminder_sent",
                    target=instalment.loan,
                    metadata={"instalment": instalment.sequence, "stage": stage},
                )
                email_queue(
                    to=[customer.email_primary],
                    subject=_("Your loan %(number)s has an instalment due") % {"number": instalment.loan.number},
                    body=_(
                        "Dear %(name)s,\n\ninstalment %(sequence)s of your loan %(number)s, %(amount)s, was due on "
                        "%(due)s and is still unpaid. Please pay it as soon as you can.\n\nAmparo"
                    )
                    % {
                        "name": customer.full_name,
                        "sequence": instalment.sequence,
                        "number": instalment.loan.number,
                        "amount": format_money(instalment.outstanding, instalment.loan.currency),
                        "due": date_format(instalment.due_date),
                    },
                )
        except IntegrityError:
            continue
        sent += 1
    return sent
