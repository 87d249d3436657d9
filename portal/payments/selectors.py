"""Every read of accounts, instalments, the ledger, payments and payouts, scoped to the user like the
customers they belong to (the customer's agent owns them)."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.accounts.selectors import book_scope_q
from portal.claims.models import Claim
from portal.claims.selectors import claims_visible_to
from portal.claims.workflow import payout_role_refusal
from portal.core.money import CURRENCIES, ZERO
from portal.policies.models import Policy

from .models import ClaimPayout, Instalment, LedgerAccount, LedgerEntry, Payment

ACCOUNT_AGENT = "customer__agent"
# Only policies that still give cover are reminded of, and lapse, for an unpaid instalment.
LIVE_POLICY_STATUSES = (Policy.Status.ACTIVE, Policy.Status.SUSPENDED)
OWNED_AGENT = "account__customer__agent"


def accounts_visible_to(user):
    return LedgerAccount.objects.filter(book_scope_q(user, agent_field=ACCOUNT_AGENT)).select_related(
        "customer", "customer__agent"
    )


def instalments_visible_to(user):
    return Instalment.objects.filter(book_scope_q(user, agent_field=OWNED_AGENT)).select_related(
        "policy", "policy__product", "account", "account__customer"
    )


def payments_visible_to(user):
    return Payment.objects.filter(book_scope_q(user, agent_field=OWNED_AGENT)).select_related(
        "account", "account__customer", "account__customer__agent", "recorded_by"
    )


def payouts_visible_to(user):
    return ClaimPayout.objects.filter(book_scope_q(user, agent_field=OWNED_AGENT)).select_related(
        "claim", "account", "account__customer", "prepared_by", "confirmed_by", "cancelled_by", "payment"
    )


def _entries_total(entries):
    return entries.aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]


def _balance_subquery(*, on):
    entries = LedgerEntry.objects.filter(account=OuterRef("pk"), posted_on__lte=on).order_by().values("account")
    return Coalesce(Subquery(entries.annotate(total=Sum("amount")).values("total")), ZERO)


def accounts_with_balances(user, *, today=None):
    """The accounts in `user`'s book with what is owed on each today (negative: credit), per row shown."""
    today = today or timezone.localdate()
    overdue = (
        Instalment.objects.filter(account=OuterRef("pk"), status=Instalment.Status.OPEN, due_date__lt=today)
        .order_by()
        .values("account")
    )
    return accounts_visible_to(user).annotate(
        balance=_balance_subquery(on=today),
        overdue_count=Coalesce(Subquery(overdue.annotate(n=Count("pk")).values("n")), 0),
    )


@dataclass
class AccountSummary:
    account: LedgerAccount
    due_now: Decimal
    scheduled: Decimal
    overdue: Decimal
    overdue_count: int
    next_due: Instalment | None
    credit: Decimal = field(init=False)

    def __post_init__(self):
        self.credit = -self.due_now if self.due_now < 0 else ZERO

    @property
    def balance(self):
        """Everything on the account, instalments due later included."""
        return self.due_now + self.scheduled


def account_summary(account, *, today=None):
    """What is owed on `account` now, what falls due later, and what is overdue."""
    today = today or timezone.localdate()
    entries = account.entries.all()
    overdue = account.instalments.filter(status=Instalment.Status.OPEN, due_date__lt=today)
    overdue_figures = overdue.aggregate(
        count=Count("pk"), amount=Coalesce(Sum("amount"), ZERO), paid=Coalesce(Sum("amount_paid"), ZERO)
    )
    return AccountSummary(
        account=account,
        due_now=_entries_total(entries.filter(posted_on__lte=today)),
        scheduled=_entries_total(entries.filter(posted_on__gt=today)),
        overdue=overdue_figures["amount"] - overdue_figures["paid"],
        overdue_count=overdue_figures["count"],
        next_due=account.instalments.filter(status=Instalment.Status.OPEN, due_date__gte=today)
        .select_related("policy")
        .order_by("due_date", "sequence")
        .first(),
    )


def customer_account_summaries(user, customer, *, today=None):
    """A summary of each of the customer's accounts `user` may see (one per currency)."""
    return [account_summary(account, today=today) for account in accounts_visible_to(user).filter(customer=customer)]


def accounts_for_app(user):
    """The accounts `user` sees (a customer: their own, one per currency)."""
    return accounts_visible_to(user).select_related(None).select_related("customer").order_by("currency")


def instalments_due_for_app(user, *, limit=12):
    """The next open instalments `user` sees (a customer: of their own policies), overdue first, at most `limit`."""
    return (
        instalments_visible_to(user)
        .select_related(None)
        .select_related("policy__product")
        .filter(status=Instalment.Status.OPEN)
        .order_by("due_date", "policy__number", "sequence")[:limit]
    )


def payments_for_app(user):
    """The payments received that `user` sees (a customer: those they made), with receipts, newest first."""
    return (
        payments_visible_to(user)
        .select_related(None)
        .select_related("receipt")
        .filter(direction=Payment.Direction.IN)
        .order_by("-received_on", "-id")
    )


def instalments_of(account):
    return (
        account.instalments.select_related("policy", "policy__product", "policy_version")
        .annotate(reminders_sent=Count("reminders"))
        .order_by("due_date", "policy__number", "sequence")
    )


def entries_with_links(entries):
    return entries.select_related(
        "instalment", "instalment__policy", "payment", "policy_version", "policy_version__policy", "payout__claim"
    )


def describe_entry(entry):
    """What a ledger entry is, in the reader's language, from its kind and what it links to."""
    kind = LedgerEntry.Kind
    if entry.kind == kind.PAYMENT_RECEIVED and entry.payment_id:
        return _("Payment received: %(method)s, reference %(reference)s") % {
            "method": entry.payment.get_method_display(),
            "reference": entry.payment.reference,
        }
    if entry.kind == kind.CLAIM_PAYOUT and entry.payout_id:
        return _("Claim %(claim)s settled (payout %(number)s)") % {
            "claim": entry.payout.claim.number,
            "number": entry.payout.number,
        }
    if entry.kind == kind.DISBURSEMENT and entry.payout_id:
        return _("Bank transfer to the customer for payout %(number)s") % {"number": entry.payout.number}
    if entry.kind == kind.ADJUSTMENT and entry.payment_id:
        return _("Payment %(reference)s reversed: %(reason)s") % {
            "reference": entry.payment.reference,
            "reason": entry.description,
        }
    if entry.kind == kind.PREMIUM_DUE and entry.instalment_id:
        return _("Instalment %(sequence)s of policy %(policy)s") % {
            "sequence": entry.instalment.sequence,
            "policy": entry.instalment.policy.number,
        }
    if entry.kind == kind.ADJUSTMENT and entry.instalment_id and entry.policy_version_id:
        return _("Instalment %(sequence)s of policy %(policy)s changed by version %(version)s (%(kind)s)") % {
            "sequence": entry.instalment.sequence,
            "policy": entry.instalment.policy.number,
            "version": entry.policy_version.number,
            "kind": entry.policy_version.get_kind_display().lower(),
        }
    if entry.kind == kind.REFUND and entry.policy_version_id:
        return _("Premium returned by version %(version)s of policy %(policy)s (%(kind)s)") % {
            "version": entry.policy_version.number,
            "policy": entry.policy_version.policy.number,
            "kind": entry.policy_version.get_kind_display().lower(),
        }
    return entry.description or entry.get_kind_display()


@dataclass
class StatementLine:
    entry: LedgerEntry
    description: str
    debit: Decimal | None
    credit: Decimal | None
    balance: Decimal


@dataclass
class Statement:
    account: LedgerAccount
    start: date
    end: date
    opening: Decimal
    lines: "StatementLines"
    closing: Decimal
    debits: Decimal
    credits: Decimal

    @property
    def currency(self):
        return self.account.currency


class StatementLines:
    """The period's entries with the balance after each, read a slice at a time: the API's pages and the
    portal's table read only the rows they show, the running balance coming from a window sum in SQL."""

    def __init__(self, entries, *, opening, count):
        self._entries = entries
        self._opening = opening
        self._count = count

    def count(self):
        return self._count

    def __len__(self):
        return self._count

    def __iter__(self):
        return iter(self[0 : self._count])

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        return [self._line(entry) for entry in self._entries[index]]

    def _line(self, entry):
        return StatementLine(
            entry=entry,
            description=describe_entry(entry),
            debit=entry.amount if entry.amount > 0 else None,
            credit=-entry.amount if entry.amount < 0 else None,
            balance=self._opening + entry.running,
        )


def account_statement(account, start, end):
    """The account between `start` and `end` (both included): the balance before `start`, every entry
    in date order with the balance after it, and the balance at the end."""
    # One read gives the opening, the totals and the last entry seen; the pages read no entry after it,
    # so a payment posted meanwhile cannot make a page's balances disagree with the totals.
    in_period = Q(posted_on__gte=start, posted_on__lte=end)
    totals = account.entries.aggregate(
        opening=Coalesce(Sum("amount", filter=Q(posted_on__lt=start)), ZERO),
        debits=Coalesce(Sum("amount", filter=in_period & Q(amount__gt=0)), ZERO),
        credits=Coalesce(Sum("amount", filter=in_period & Q(amount__lt=0)), ZERO),
        count=Count("pk", filter=in_period),
        last=Coalesce(Max("id"), 0),
    )
    opening = totals["opening"]
    ordering = ("posted_on", "id")
    entries = (
        entries_with_links(account.entries.filter(in_period, id__lte=totals["last"]))
        .annotate(running=Window(Sum("amount"), order_by=[F(name).asc() for name in ordering]))
        .order_by(*ordering)
    )
    return Statement(
        account=account,
        start=start,
        end=end,
        opening=opening,
        lines=StatementLines(entries, opening=opening, count=totals["count"]),
        closing=opening + totals["debits"] + totals["credits"],
        debits=totals["debits"],
        credits=-totals["credits"],
    )


def recent_entries(account, *, limit=20):
    entries = entries_with_links(account.entries.filter(posted_on__lte=timezone.localdate())).order_by(
        "-posted_on", "-id"
    )[:limit]
    return [(entry, describe_entry(entry)) for entry in entries]


def allocations_of(payment):
    return payment.allocations.select_related("instalment", "instalment__policy").order_by("instalment__due_date")


def collections_figures(user, *, days=30, today=None):
    """The finance dashboard's collections card: money received per day over the last `days` days (a
    chart series per currency), the totals, what is overdue, and the payouts waiting for a second user."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    received = payments_visible_to(user).filter(
        direction=Payment.Direction.IN, status=Payment.Status.CONFIRMED, received_on__gte=start, received_on__lte=today
    )
    per_day = {
        (row["received_on"], row["currency"]): row["total"]
        for row in received.order_by().values("received_on", "currency").annotate(total=Sum("amount"))
    }
    labels = [start + timedelta(days=offset) for offset in range(days)]
    currencies = [code for code, _label in CURRENCIES if any(currency == code for _day, currency in per_day)]
    totals = {
        row["currency"]: row
        for row in received.order_by()
        .values("currency")
        .annotate(
            month=Sum("amount"),
            week=Coalesce(Sum("amount", filter=Q(received_on__gt=today - timedelta(days=7))), ZERO),
            today=Coalesce(Sum("amount", filter=Q(received_on=today)), ZERO),
            count=Count("pk"),
        )
    }
    overdue = (
        instalments_visible_to(user)
        .filter(status=Instalment.Status.OPEN, due_date__lt=today)
        .order_by()
        .values("currency")
        .annotate(count=Count("pk"), amount=Sum("amount"), paid=Sum("amount_paid"))
    )
    return {
        "totals": [totals[currency] for currency in currencies],
        "overdue": [
            {"currency": row["currency"], "count": row["count"], "amount": row["amount"] - row["paid"]}
            for row in overdue
        ],
        "payouts_waiting": payouts_visible_to(user).filter(status=ClaimPayout.Status.PREPARED).count()
        if user.role in (Role.FINANCE, Role.ADMIN, Role.INTERVENTORIA)
        else 0,
        "chart": {
            "labels": [day.isoformat() for day in labels],
            "series": [
                {"label": currency, "data": [str(per_day.get((day, currency), ZERO)) for day in labels]}
                for currency in currencies
            ],
        },
    }


def claims_awaiting_payout(user):
    """Approved claims in `user`'s book with no payout prepared or confirmed yet, oldest decision first."""
    live = ClaimPayout.objects.filter(claim=OuterRef("pk")).exclude(status=ClaimPayout.Status.CANCELLED)
    return (
        claims_visible_to(user).filter(status=Claim.Status.APPROVED).exclude(Exists(live)).order_by("status_changed_at")
    )


def payouts_to_confirm(user):
    """Prepared payouts waiting for `user`'s confirmation: none for a role that does not confirm, and
    never one they prepared themselves (the second pair of eyes)."""
    if payout_role_refusal(user) is not None:
        return ClaimPayout.objects.none()
    return payouts_visible_to(user).filter(status=ClaimPayout.Status.PREPARED).exclude(prepared_by=user)


# --- what is overdue: the reads the lapse and the reminders share ---------------------------------------------


def lapse_grace_days():
    """Days an instalment may stay unpaid after its due date before the policy lapses."""
    return settings.AMPARO_LAPSE_GRACE_DAYS


def balance_due(account, *, on):
    """What the customer owes on `account` on `on` (negative: credit): the sum of its entries to that date."""
    return account.entries.filter(posted_on__lte=on).aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]


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
