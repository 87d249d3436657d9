"""Premium schedules follow the policy's versions: instalments created, charged, returned or cancelled."""

from django.db import transaction

from portal.core.dates import business_date
from portal.policies.models import PolicyVersion

from ..models import (
    Instalment,
    LedgerAccount,
    LedgerEntry,
)
from ..schedule import premium_schedule, split_amount
from .ledger import account_for, apply_credit, ledger_entry, lock_account

FIRST_VERSION_KINDS = (PolicyVersion.Kind.NEW_BUSINESS, PolicyVersion.Kind.RENEWAL)


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
    today = business_date(as_of)
    account = lock_account(account_for(customer=policy.customer, currency=version.currency))
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
    apply_credit(account)
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
    ledger_entry(
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
        ledger_entry(
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
        ledger_entry(
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
    ledger_entry(
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
    today = business_date(as_of)
    account = LedgerAccount.objects.filter(customer=policy.customer, currency=policy.current_version.currency).first()
    if account is None:
        return []
    account = lock_account(account)
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
