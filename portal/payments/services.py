"""Every write to premium schedules, the ledger, payments, receipts and claim payouts.

Keyword-only functions, one transaction each, audited inside it. Whatever changes an account's
instalments or entries locks the account's row first (after the policy's, when a policy changes),
so allocations, schedule changes and payments on one account happen one at a time.
"""

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.audit.services import audit_record
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.core.money import CENT, CURRENCIES, ZERO, format_money
from portal.customers.models import Customer
from portal.policies.models import PaymentFrequency, Policy, PolicyVersion
from portal.policies.services import add_months

from .models import (
    ClaimPayout,
    Instalment,
    InstalmentReminder,
    LedgerAccount,
    LedgerEntry,
    Payment,
    PaymentAllocation,
    Receipt,
)

MAX_AMOUNT = Decimal("99999999999999.99")
FIRST_VERSION_KINDS = (PolicyVersion.Kind.NEW_BUSINESS, PolicyVersion.Kind.RENEWAL)
# Only policies that still give cover are reminded of, and lapse, for an unpaid instalment.
LIVE_POLICY_STATUSES = (Policy.Status.ACTIVE, Policy.Status.SUSPENDED)
PAYOUT_ROLES = (Role.FINANCE, Role.ADMIN)


def _today(as_of=None):
    return as_of or timezone.localdate()


def lapse_grace_days():
    """Days an instalment may stay unpaid after its due date before the policy lapses."""
    return settings.AMPARO_LAPSE_GRACE_DAYS


# --- schedule arithmetic -----------------------------------------------------------------------------


def split_amount(total, count):
    """`total` in `count` parts to the cent that add up exactly to it: equal parts rounded down, the
    remainder on the last one. Fewer parts (down to one) when there are fewer cents than parts."""
    total = Decimal(total)
    cents = int((total / CENT).to_integral_value())
    if total <= 0:
        return []
    count = max(1, min(count, cents))
    part = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def schedule_due_dates(*, start_date, end_date, frequency):
    """The due dates of a term paid at `frequency`: its start, then every period after it, within the term."""
    months = PaymentFrequency(frequency).months
    dates, index = [], 0
    while True:
        due = add_months(start_date, months * index)
        if due >= end_date:
            return dates or [start_date]
        dates.append(due)
        index += 1


def premium_schedule(*, premium, start_date, end_date, frequency):
    """[(due date, amount)] of a term's premium: the amounts always add up to `premium` exactly."""
    dates = schedule_due_dates(start_date=start_date, end_date=end_date, frequency=frequency)
    return list(zip(dates, split_amount(premium, len(dates)), strict=False))


# --- accounts ------------------------------------------------------------------------------------------


def account_for(*, customer, currency):
    """The customer's account in `currency`, opened the first time it is needed (safe when two open it at once)."""
    account, _created = LedgerAccount.objects.get_or_create(customer=customer, currency=currency)
    return account


def _lock_account(account):
    return LedgerAccount.objects.select_for_update(of=("self",)).select_related("customer").get(pk=account.pk)


def _entry(account, *, kind, amount, posted_on, actor=None, **links):
    return LedgerEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        currency=account.currency,
        posted_on=posted_on,
        created_by=actor if actor is not None and actor.pk else None,
        **links,
    )


def _unallocated_payments(account):
    """Confirmed payments on `account` with money not yet applied to an instalment, oldest first."""
    return (
        Payment.objects.filter(account=account, direction=Payment.Direction.IN, status=Payment.Status.CONFIRMED)
        .annotate(allocated=Coalesce(Sum("allocations__amount"), ZERO))
        .filter(amount__gt=F("allocated"))
        .order_by("received_on", "id")
    )


def _allocate(payment, *, amount, account):
    """Apply `amount` of `payment` to the account's open instalments, oldest due first; returns what is left."""
    remaining = amount
    open_instalments = (
        Instalment.objects.select_for_update()
        .filter(account=account, status=Instalment.Status.OPEN)
        .order_by("due_date", "policy_id", "sequence")
    )
    for instalment in open_instalments:
        if remaining <= 0:
            break
        part = min(remaining, instalment.outstanding)
        instalment.amount_paid += part
        if instalment.amount_paid == instalment.amount:
            instalment.status = Instalment.Status.PAID
        instalment.save(update_fields=["amount_paid", "status", "updated_at"])
        PaymentAllocation.objects.create(payment=payment, instalment=instalment, amount=part)
        remaining -= part
    return remaining


def _apply_credit(account):
    """Money already received and not yet applied pays the account's open instalments (after a schedule
    is created or grows, or a payment is reversed)."""
    for payment in _unallocated_payments(account):
        if _allocate(payment, amount=payment.amount - payment.allocated, account=account) > 0:
            return


# --- schedules follow the policy's versions ---------------------------------------------------------------


@transaction.atomic
def schedule_for_version(*, version, frequency=None, actor=None, as_of=None):
    """Make the premium schedule follow a new policy version (called by the policy services).

    A first version (new business, renewal) gets its instalments at `frequency` (the policy's
    when not given). A later version's premium change goes to the instalments still open: a charge
    is spread over those due from its effective date on (or is due on that date when none is
    left); a return takes the latest open ones first, and what is beyond them becomes a credit
    (REFUND). Nothing already paid is rewritten.
    """
    policy = version.policy
    today = _today(as_of)
    account = _lock_account(account_for(customer=policy.customer, currency=version.currency))
    if version.kind in FIRST_VERSION_KINDS:
        if Instalment.objects.filter(policy=policy).exists():
            return []
        changed = _schedule_create(
            version, account=account, frequency=frequency or policy.payment_frequency, actor=actor
        )
    elif version.premium_change > 0:
        changed = _schedule_charge(version, account=account, amount=version.premium_change, today=today, actor=actor)
    elif version.premium_change < 0:
        changed = _schedule_return(version, account=account, amount=-version.premium_change, today=today, actor=actor)
    else:
        return []
    _apply_credit(account)
    return changed


def _new_instalment(version, *, account, sequence, due_date, amount, actor):
    instalment = Instalment.objects.create(
        account=account,
        policy=version.policy,
        policy_version=version,
        sequence=sequence,
        due_date=due_date,
        scheduled_amount=amount,
        amount=amount,
        currency=version.currency,
    )
    _entry(
        account,
        kind=LedgerEntry.Kind.PREMIUM_DUE,
        amount=amount,
        posted_on=due_date,
        actor=actor,
        instalment=instalment,
        policy_version=version,
    )
    return instalment


def _schedule_create(version, *, account, frequency, actor):
    schedule = premium_schedule(
        premium=version.premium, start_date=version.start_date, end_date=version.end_date, frequency=frequency
    )
    return [
        _new_instalment(version, account=account, sequence=sequence, due_date=due, amount=amount, actor=actor)
        for sequence, (due, amount) in enumerate(schedule, 1)
    ]


def _schedule_charge(version, *, account, amount, today, actor):
    start = max(version.effective_date, today)
    targets = list(
        Instalment.objects.select_for_update()
        .filter(policy=version.policy, status=Instalment.Status.OPEN, due_date__gte=start)
        .order_by("due_date", "sequence")
    )
    if not targets:
        last = Instalment.objects.filter(policy=version.policy).order_by("-sequence").first()
        sequence = last.sequence + 1 if last else 1
        return [
            _new_instalment(version, account=account, sequence=sequence, due_date=start, amount=amount, actor=actor)
        ]
    parts = split_amount(amount, len(targets))
    for instalment, part in zip(targets, parts, strict=False):
        instalment.amount += part
        instalment.policy_version = version
        instalment.save(update_fields=["amount", "policy_version", "updated_at"])
        _entry(
            account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            amount=part,
            posted_on=instalment.due_date,
            actor=actor,
            instalment=instalment,
            policy_version=version,
        )
    return targets[: len(parts)]


def _schedule_return(version, *, account, amount, today, actor):
    remaining = amount
    changed = []
    latest_first = (
        Instalment.objects.select_for_update()
        .filter(policy=version.policy, status=Instalment.Status.OPEN)
        .order_by("-due_date", "-sequence")
    )
    for instalment in latest_first:
        if remaining <= 0:
            break
        cut = min(remaining, instalment.outstanding)
        _reduce(instalment, cut=cut, version=version, account=account, today=today, actor=actor)
        changed.append(instalment)
        remaining -= cut
    if remaining > 0:
        _entry(
            account,
            kind=LedgerEntry.Kind.REFUND,
            amount=-remaining,
            posted_on=today,
            actor=actor,
            policy_version=version,
        )
    return changed


def _reduce(instalment, *, cut, version, account, today, actor):
    """Take `cut` off the open part of an instalment: what is left of it is paid, or nothing is left."""
    instalment.amount -= cut
    if instalment.amount == instalment.amount_paid:
        instalment.status = Instalment.Status.PAID if instalment.amount > 0 else Instalment.Status.CANCELLED
    instalment.policy_version = version
    instalment.save(update_fields=["amount", "status", "policy_version", "updated_at"])
    _entry(
        account,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=-cut,
        posted_on=max(instalment.due_date, today),
        actor=actor,
        instalment=instalment,
        policy_version=version,
    )


@transaction.atomic
def instalments_cancel_after_lapse(*, policy, actor=None, as_of=None):
    """A lapsed policy gives no more cover: its open instalments due after the lapse are cancelled
    (what fell due before it stays owed). Called by `policy_lapse`; returns the instalments cancelled."""
    today = _today(as_of)
    account = LedgerAccount.objects.filter(customer=policy.customer, currency=policy.current_version.currency).first()
    if account is None:
        return []
    account = _lock_account(account)
    future = (
        Instalment.objects.select_for_update()
        .filter(policy=policy, status=Instalment.Status.OPEN, due_date__gt=today)
        .order_by("due_date", "sequence")
    )
    changed = []
    for instalment in future:
        _reduce(
            instalment,
            cut=instalment.outstanding,
            version=policy.current_version,
            account=account,
            today=today,
            actor=actor,
        )
        changed.append(instalment)
    return changed


# --- payments ----------------------------------------------------------------------------------------------


def _clean_amount(amount):
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, TypeError, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise ValidationError({"amount": _("Enter the amount as a number, e.g. 150000.00.")})
    if value <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    if value > MAX_AMOUNT:
        raise ValidationError({"amount": _("That amount is too large to be a payment.")})
    if value != value.quantize(CENT):
        raise ValidationError({"amount": _("The amount has at most two decimals (cents).")})
    return value.quantize(CENT)


def _clean_reference(reference):
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not reference:
        raise ValidationError({"reference": _("Enter the payment's reference (receipt number or bank reference).")})
    if len(reference) > 64:
        raise ValidationError({"reference": _("A reference has at most 64 characters.")})
    return reference


def _check_payment_inputs(*, customer, currency, method, actor, received_on, today):
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer who paid.")})
    if currency not in dict(CURRENCIES):
        raise ValidationError({"currency": _("Choose the currency of the payment.")})
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Choose how the customer paid.")})
    if actor is not None and method not in Payment.MANUAL_METHODS:
        raise ValidationError(
            {"method": _("Staff record cash and bank transfers; card, Nequi and PSE payments come from the gateway.")}
        )
    if actor is None and method not in Payment.GATEWAY_METHODS:
        raise ValidationError({"method": _("Cash and bank transfers are recorded by a member of staff.")})
    if received_on > today:
        raise ValidationError({"received_on": _("A payment cannot be dated in the future.")})


def _receipt_number(today):
    return f"REC-{today.year}-{next_sequence_value(key='receipt', year=today.year):06d}"


def _existing_payment(*, method, reference, account):
    """The payment already recorded under (method, reference): the same one for this account, refused for another."""
    existing = Payment.objects.filter(direction=Payment.Direction.IN, method=method, reference=reference).first()
    if existing is not None and existing.account_id != account.pk:
        raise ValidationError(
            {
                "reference": _("Reference %(reference)s is already recorded for another customer's payment.")
                % {"reference": reference}
            }
        )
    return existing


def _payment_receive(*, customer, amount, currency, method, reference, actor, received_on, source):
    """(payment, created): the payment recorded now, or the one already recorded under this reference."""
    today = _today()
    amount, reference = _clean_amount(amount), _clean_reference(reference)
    received_on = received_on or today
    _check_payment_inputs(
        customer=customer, currency=currency, method=method, actor=actor, received_on=received_on, today=today
    )
    account = _lock_account(account_for(customer=customer, currency=currency))
    existing = _existing_payment(method=method, reference=reference, account=account)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                account=account,
                method=method,
                amount=amount,
                currency=currency,
                reference=reference,
                received_on=received_on,
                recorded_by=actor,
                source_type=source._meta.label_lower if source is not None else "",
                source_id=str(source.pk) if source is not None else "",
            )
    except IntegrityError:
        # Another customer's payment took this reference between our look and our insert.
        return _existing_payment(method=method, reference=reference, account=account), False
    credit = _allocate(payment, amount=amount, account=account)
    _entry(
        account,
        kind=LedgerEntry.Kind.PAYMENT_RECEIVED,
        amount=-amount,
        posted_on=received_on,
        actor=actor,
        payment=payment,
    )
    receipt = Receipt.objects.create(payment=payment, number=_receipt_number(today), email=customer.email_primary)
    audit_record(
        actor=actor,
        actor_label=None if actor is not None else "gateway",
        action="payment.received",
        target=payment,
        metadata={
            "customer": customer.pk,
            "amount": str(amount),
            "currency": currency,
            "method": method,
            "reference": reference,
            "received_on": received_on.isoformat(),
            "credit_left": str(credit),
            "receipt": receipt.number,
            "source": f"{payment.source_type}:{payment.source_id}" if source is not None else "",
        },
    )
    transaction.on_commit(lambda: _queue_receipt(receipt.pk))
    return payment, True


def _queue_receipt(receipt_id):
    from tasks.payments import receipt_send

    receipt_send(receipt_id=receipt_id)


@transaction.atomic
def payment_receive(*, customer, amount, currency, method, reference, actor, received_on=None, source=None):
    """Record money received from `customer` and apply it to their open instalments, oldest due first;
    what is left stays on the account as credit. Issues the receipt, emailed once after commit.

    Idempotent on (method, reference): the same reference again returns the first payment unchanged.
    `actor` is the member of staff recording cash or a bank transfer, or None for a payment a
    gateway confirmed (card, Nequi, PSE), with `source` the gateway's transaction.
    """
    payment, _created = _payment_receive(
        customer=customer,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        actor=actor,
        received_on=received_on,
        source=source,
    )
    return payment


@transaction.atomic
def payment_record(*, account, amount, method, reference, actor, received_on=None):
    """A payment typed in by staff (cash or bank transfer) on `account`; a reference already recorded is
    refused with what it was, so one payment is never entered twice."""
    payment, created = _payment_receive(
        customer=account.customer,
        amount=amount,
        currency=account.currency,
        method=method,
        reference=reference,
        actor=actor,
        received_on=received_on,
        source=None,
    )
    if not created:
        # Checked after the account lock, so two people typing the same payment at once get one
        # payment and one refusal, never two "recorded".
        raise ValidationError(
            {
                "reference": _("Reference %(reference)s was already recorded on %(day)s for %(amount)s.")
                % {
                    "reference": payment.reference,
                    "day": date_format(payment.received_on, "SHORT_DATE_FORMAT"),
                    "amount": format_money(payment.amount, payment.currency),
                }
            }
        )
    return payment


@transaction.atomic
def payment_reverse(*, payment, actor, reason):
    """Undo a payment recorded by mistake (or a transfer the bank returned): its instalments are open
    again and an ADJUSTMENT entry charges the amount back. Nothing is deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payment is reversed: it is kept with the entry.")})
    account = _lock_account(payment.account)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.direction != Payment.Direction.IN or payment.status != Payment.Status.CONFIRMED:
        raise Conflict(
            _("This payment is %(status)s; it cannot be reversed.") % {"status": payment.get_status_display().lower()}
        )
    if payment.method not in Payment.MANUAL_METHODS:
        raise ValidationError(_("Card, Nequi and PSE payments are reversed through the gateway, not here."))
    for allocation in payment.allocations.select_related("instalment"):
        instalment = Instalment.objects.select_for_update().get(pk=allocation.instalment_id)
        instalment.amount_paid -= allocation.amount
        instalment.status = Instalment.Status.OPEN
        instalment.save(update_fields=["amount_paid", "status", "updated_at"])
    today = _today()
    payment.status = Payment.Status.REVERSED
    payment.reversed_by = actor
    payment.reversed_at = timezone.now()
    payment.reversal_reason = reason[:255]
    payment.save(update_fields=["status", "reversed_by", "reversed_at", "reversal_reason"])
    _entry(
        account,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=payment.amount,
        posted_on=today,
        actor=actor,
        payment=payment,
        description=payment.reversal_reason,
    )
    audit_record(
        actor=actor,
        action="payment.reversed",
        target=payment,
        metadata={"amount": str(payment.amount), "currency": payment.currency, "reason": payment.reversal_reason},
    )
    _apply_credit(account)
    return payment


# --- receipts -------------------------------------------------------------------------------------------------


def receipt_deliver(*, receipt_id):
    """Email a receipt with its PDF, once: the row is locked while it is sent and marked sent in the same
    transaction, so a second run (a retry, a second worker) finds it sent. Returns True when sent now."""
    from .documents import receipt_email

    with transaction.atomic():
        receipt = (
            Receipt.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("payment__account__customer__agent", "payment__recorded_by")
            .filter(pk=receipt_id, sent_at__isnull=True)
            .exclude(email="")
            .first()
        )
        if receipt is None:
            return False
        receipt_email(receipt=receipt).send()
        receipt.sent_at = timezone.now()
        receipt.save(update_fields=["sent_at"])
        audit_record(
            actor=None,
            actor_label="scheduler",
            action="payment.receipt_sent",
            target=receipt.payment,
            metadata={"receipt": receipt.number, "to": receipt.email},
        )
    return True


# --- overdue instalments: reminders and lapses ---------------------------------------------------------------


def overdue_reminder_stage(*, due_date, today):
    """Which reminder an open instalment is due: one day overdue, then fifteen; None before that."""
    days = (today - due_date).days
    if days >= InstalmentReminder.Stage.DAYS_15:
        return InstalmentReminder.Stage.DAYS_15
    if days >= InstalmentReminder.Stage.DAYS_1:
        return InstalmentReminder.Stage.DAYS_1
    return None


def balance_due(account, *, on):
    """What the customer owes on `account` on `on` (negative: credit): the sum of its entries to that date."""
    return account.entries.filter(posted_on__lte=on).aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]


def _reminder_candidates(today):
    def without(stage):
        return ~Exists(InstalmentReminder.objects.filter(instalment=OuterRef("pk"), stage=stage))

    fifteen = InstalmentReminder.Stage.DAYS_15
    return (
        Instalment.objects.filter(
            status=Instalment.Status.OPEN,
            policy__status__in=LIVE_POLICY_STATUSES,
        )
        .filter(
            Q(due_date__lte=today - timedelta(days=fifteen)) & without(fifteen)
            | Q(due_date__gt=today - timedelta(days=fifteen), due_date__lt=today)
            & without(InstalmentReminder.Stage.DAYS_1)
        )
        .exclude(account__customer__email_primary="")
        .select_related("account__customer__agent", "policy__product", "policy__current_version")
        .order_by("pk")
    )


def instalment_reminder_record(*, instalment, stage):
    """Claim the right to send `stage` for `instalment`: True once, False every later time (a unique row)."""
    try:
        with transaction.atomic():
            reminder = InstalmentReminder.objects.create(
                instalment=instalment, stage=stage, email=instalment.account.customer.email_primary
            )
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="payment.overdue_reminder_sent",
                target=instalment.policy,
                metadata={
                    "instalment": instalment.sequence,
                    "stage": stage,
                    "to": reminder.email,
                    "due": instalment.due_date.isoformat(),
                },
            )
    except IntegrityError:
        return False
    return True


def instalment_reminders_send(*, today=None):
    """Daily: email each customer with an instalment 1 and 15 days overdue, once per instalment and stage.

    Nothing is sent while the account's credit covers what is due. The reminder row is written
    first and the email queued when its transaction commits, so two runs at once send one email.
    """
    from tasks.notifications import email_message_send

    from .documents import overdue_reminder_email

    today = _today(today)
    sent = 0
    for instalment in _reminder_candidates(today).iterator(chunk_size=500):
        stage = overdue_reminder_stage(due_date=instalment.due_date, today=today)
        if stage is None or balance_due(instalment.account, on=today) <= 0:
            continue
        with transaction.atomic():
            if not instalment_reminder_record(instalment=instalment, stage=stage):
                continue
            message = overdue_reminder_email(instalment=instalment, stage=stage, today=today)
            transaction.on_commit(lambda message=message: email_message_send(**message))
        sent += 1
    return sent


def lapse_due_on(policy, *, today):
    """The oldest open instalment of `policy` unpaid past the grace period, or None (nothing to lapse it for).

    An account whose credit covers what is due lapses nothing.
    """
    cutoff = today - timedelta(days=lapse_grace_days())
    instalment = (
        Instalment.objects.filter(policy=policy, status=Instalment.Status.OPEN, due_date__lt=cutoff)
        .select_related("account")
        .order_by("due_date", "sequence")
        .first()
    )
    if instalment is None or balance_due(instalment.account, on=today) <= 0:
        return None
    return instalment


def policies_lapse_overdue(*, today=None):
    """Daily: policies with an instalment unpaid past the grace period lapse (through `policy_lapse`),
    each in its own short transaction. Returns how many lapsed."""
    from portal.policies.services import policy_lapse

    today = _today(today)
    cutoff = today - timedelta(days=lapse_grace_days())
    overdue = Instalment.objects.filter(policy=OuterRef("pk"), status=Instalment.Status.OPEN, due_date__lt=cutoff)
    due = (
        Policy.objects.filter(Exists(overdue), status__in=LIVE_POLICY_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    lapsed = 0
    for pk in due.iterator(chunk_size=2000):
        try:
            policy_lapse(policy=Policy.objects.get(pk=pk), actor=None, as_of=today)
        except ValidationError:
            continue
        lapsed += 1
    return lapsed


# --- claim payouts (maker-checker) ---------------------------------------------------------------------------


def _require_payout_role(actor):
    if actor is None or not actor.is_authenticated or actor.role not in PAYOUT_ROLES:
        raise ValidationError(_("Only finance users and administrators prepare and confirm claim payouts."))


def _payout_number(today):
    return f"GIRO-{today.year}-{next_sequence_value(key='payout', year=today.year):06d}"


def _lock_payout(payout):
    return (
        ClaimPayout.objects.select_for_update(of=("self",))
        .select_related("claim", "account__customer", "prepared_by")
        .get(pk=payout.pk)
    )


@transaction.atomic
def payout_prepare(*, claim, actor, payee_account, as_of=None):
    """Prepare the payout of an APPROVED claim for its approved amount; another finance user confirms it."""
    from portal.claims.models import Claim

    _require_payout_role(actor)
    payee_account = (payee_account or "").strip()
    if not payee_account:
        raise ValidationError({"payee_account": _("Enter the bank and account number the money goes to.")})
    claim = Claim.objects.select_for_update(of=("self",)).select_related("customer").get(pk=claim.pk)
    if claim.status != Claim.Status.APPROVED:
        raise Conflict(
            _("Claim %(number)s is %(status)s; only approved claims are paid.")
            % {"number": claim.number, "status": claim.get_status_display().lower()}
        )
    live = ClaimPayout.objects.filter(claim=claim).exclude(status=ClaimPayout.Status.CANCELLED).first()
    if live is not None:
        raise Conflict(
            _("Payout %(number)s is already %(status)s for claim %(claim)s.")
            % {"number": live.number, "status": live.get_status_display().lower(), "claim": claim.number}
        )
    payout = ClaimPayout.objects.create(
        number=_payout_number(_today(as_of)),
        claim=claim,
        account=account_for(customer=claim.customer, currency=claim.currency),
        amount=claim.approved_amount,
        currency=claim.currency,
        payee_account=payee_account[:120],
        prepared_by=actor,
    )
    audit_record(
        actor=actor,
        action="payout.prepared",
        target=payout,
        metadata={"claim": claim.number, "amount": str(payout.amount), "currency": payout.currency},
    )
    return payout


def payout_actions_available(payout, user):
    """What `user` may do with `payout` now: the same rules the services enforce, for the buttons."""
    may = user.is_authenticated and user.role in PAYOUT_ROLES
    prepared = payout.status == ClaimPayout.Status.PREPARED
    return {
        "confirm": may and prepared and payout.prepared_by_id != user.pk,
        "cancel": may and prepared,
    }


@transaction.atomic
def payout_confirm(*, payout, actor, as_of=None):
    """The second finance user confirms a prepared payout: the transfer is recorded as a payment out,
    the ledger gets the claim settled and the money paid out, and the claim becomes PAID, together."""
    from portal.claims.models import Claim
    from portal.claims.services import claim_mark_paid

    _require_payout_role(actor)
    payout = _lock_payout(payout)
    if payout.status != ClaimPayout.Status.PREPARED:
        raise Conflict(
            _("Payout %(number)s is %(status)s; there is nothing to confirm.")
            % {"number": payout.number, "status": payout.get_status_display().lower()}
        )
    if payout.prepared_by_id == actor.pk:
        raise ValidationError(
            _("You prepared payout %(number)s; another finance user must confirm it.") % {"number": payout.number}
        )
    claim = Claim.objects.select_for_update(of=("self",)).get(pk=payout.claim_id)
    if claim.status != Claim.Status.APPROVED or claim.approved_amount != payout.amount:
        raise Conflict(
            _("Claim %(number)s changed after the payout was prepared; cancel it and prepare it again.")
            % {"number": claim.number}
        )
    account = _lock_account(payout.account)
    today = _today(as_of)
    payment = Payment.objects.create(
        account=account,
        direction=Payment.Direction.OUT,
        method=Payment.Method.BANK_TRANSFER,
        amount=payout.amount,
        currency=payout.currency,
        reference=payout.number,
        received_on=today,
        recorded_by=actor,
        source_type=payout._meta.label_lower,
        source_id=str(payout.pk),
    )
    _entry(
        account, kind=LedgerEntry.Kind.CLAIM_PAYOUT, amount=-payout.amount, posted_on=today, actor=actor, payout=payout
    )
    _entry(
        account,
        kind=LedgerEntry.Kind.DISBURSEMENT,
        amount=payout.amount,
        posted_on=today,
        actor=actor,
        payout=payout,
        payment=payment,
    )
    payout.status = ClaimPayout.Status.CONFIRMED
    payout.confirmed_by = actor
    payout.confirmed_at = timezone.now()
    payout.payment = payment
    payout.save(update_fields=["status", "confirmed_by", "confirmed_at", "payment"])
    claim_mark_paid(claim=claim, actor=actor, payout=payout)
    audit_record(
        actor=actor,
        action="payout.confirmed",
        target=payout,
        metadata={
            "claim": claim.number,
            "amount": str(payout.amount),
            "currency": payout.currency,
            "prepared_by": payout.prepared_by.email_primary,
        },
    )
    return payout


@transaction.atomic
def payout_cancel(*, payout, actor, reason):
    """Withdraw a prepared payout (wrong account, claim to be reviewed); the claim can be prepared again."""
    _require_payout_role(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payout is cancelled.")})
    payout = _lock_payout(payout)
    if payout.status != ClaimPayout.Status.PREPARED:
        raise Conflict(
            _("Payout %(number)s is %(status)s; it cannot be cancelled.")
            % {"number": payout.number, "status": payout.get_status_display().lower()}
        )
    payout.status = ClaimPayout.Status.CANCELLED
    payout.cancelled_by = actor
    payout.cancelled_at = timezone.now()
    payout.cancel_reason = reason[:255]
    payout.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    audit_record(
        actor=actor,
        action="payout.cancelled",
        target=payout,
        metadata={"claim": payout.claim.number, "reason": payout.cancel_reason},
    )
    return payout
