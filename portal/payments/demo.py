"""Demo payments: the demo book's instalments paid as its customers would have paid them, some on
time, some late, some not at all (overdue), and a claim payout waiting for a second finance user.

Payments are recorded through the real service on their own dates, so allocations, credit,
receipts and the ledger are what the portal would have written. Idempotent.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.claims.models import Claim
from portal.policies.demo import CUSTOMERS
from portal.policies.models import Policy

from . import services
from .models import ClaimPayout, Instalment, Payment

DEMO_REFERENCE = "DEMO-"
PAYEE = "Bancolombia ahorros 123-456789-01"

# customer id number -> how they pay: "all" (every instalment due so far), "first" (only the
# first), "none" (nothing: overdue), with the method and how many days after the due date.
PAYING_HABITS = {
    "52101001": ("all", Payment.Method.BANK_TRANSFER, 2),
    "79101002": ("all", Payment.Method.CASH, 0),
    "900101004": ("first", Payment.Method.BANK_TRANSFER, 5),
    "80101005": ("all", Payment.Method.BANK_TRANSFER, 1),
    "52101006": ("all", Payment.Method.CASH, 3),
    "79101007": ("all", Payment.Method.CASH, 0),
    "43101008": ("all", Payment.Method.BANK_TRANSFER, 0),
    "98101009": ("none", None, 0),
    "1010000009": ("all", Payment.Method.BANK_TRANSFER, 1),
}
# Lapsed for non-payment in the policy demo: nothing of it is ever paid.
NEVER_PAID_PRODUCT_OF = {"79101007": "AUTO"}


def _schedule_missing(policy):
    """A policy issued before payments existed gets the schedule its versions would have made."""
    if Instalment.objects.filter(policy=policy).exists():
        return
    for version in policy.versions.order_by("number"):
        services.schedule_for_version(
            version=version, actor=version.created_by, as_of=timezone.localdate(version.created_at)
        )


def _pay(policy, *, habit, method, days_late, actor, today):
    due = Instalment.objects.filter(policy=policy, status=Instalment.Status.OPEN, due_date__lt=today)
    if habit == "first":
        due = due.filter(sequence=1)
    for instalment in due.order_by("due_date", "sequence"):
        services.payment_receive(
            customer=policy.customer,
            amount=instalment.outstanding,
            currency=instalment.currency,
            method=method,
            reference=f"{DEMO_REFERENCE}{policy.number}-{instalment.sequence}",
            actor=actor,
            received_on=min(instalment.due_date + timedelta(days=days_late), today),
        )


def pay_out_claim(claim, *, maker, checker):
    """An approved claim paid as finance pays it: prepared by `maker`, confirmed by `checker`."""
    payout = services.payout_prepare(claim=claim, actor=maker, payee_account=PAYEE)
    services.payout_confirm(payout=payout, actor=checker)


def _prepare_payout(finance):
    claim = Claim.objects.filter(status=Claim.Status.APPROVED).order_by("pk").first()
    if claim is not None and not ClaimPayout.objects.filter(claim=claim).exists():
        services.payout_prepare(claim=claim, actor=finance, payee_account=PAYEE)


@transaction.atomic
def seed_demo_payments():
    """Schedules for the demo policies, the payments their customers made, and one payout to confirm."""
    if Payment.objects.filter(reference__startswith=DEMO_REFERENCE).exists():
        return
    finance = User.objects.get(email_primary="finance@amparo.demo")
    today = timezone.localdate()
    id_numbers = [row[1] for row in CUSTOMERS]
    policies = (
        Policy.objects.filter(customer__id_number__in=id_numbers)
        .select_related("customer", "product")
        .order_by("current_version__start_date", "pk")
    )
    for policy in policies:
        _schedule_missing(policy)
    for policy in policies:
        id_number = policy.customer.id_number
        if NEVER_PAID_PRODUCT_OF.get(id_number) == policy.product.code or id_number not in PAYING_HABITS:
            continue
        habit, method, days_late = PAYING_HABITS[id_number]
        if habit != "none":
            _pay(policy, habit=habit, method=method, days_late=days_late, actor=finance, today=today)
    _prepare_payout(finance)
