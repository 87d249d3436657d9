"""A customer's notifications as one feed, newest first: the receipts and reminders they were emailed
and their claims' moves, read from those records (one query for a page, one per kind for its rows)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, CharField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.claims.models import ClaimTransition
from portal.claims.workflow import customer_words
from portal.core.money import format_money
from portal.payments.models import InstalmentReminder, Receipt
from portal.policies.models import RenewalReminder

from .models import NotificationKind, NotificationRead, NotificationsSeen

Kind = NotificationKind


def _sources(customer):
    """{kind: (the kind's records of `customer`, the field that says when the customer was told)}."""
    return {
        Kind.RECEIPT: (Receipt.objects.filter(payment__account__customer=customer, sent_at__isnull=False), "sent_at"),
        Kind.PAYMENT_REMINDER: (InstalmentReminder.objects.filter(instalment__account__customer=customer), "sent_at"),
        Kind.RENEWAL_NOTICE: (RenewalReminder.objects.filter(policy__customer=customer), "sent_at"),
        Kind.CLAIM_STATUS: (ClaimTransition.objects.filter(claim__customer=customer), "created_at"),
    }


def read_before(user):
    """The moment up to which `user` marked everything read, or None."""
    return NotificationsSeen.objects.filter(user=user).values_list("read_before", flat=True).first()


def _read_q(user, kind, at_field, seen):
    marked = Exists(NotificationRead.objects.filter(user=user, kind=kind, object_id=OuterRef("pk")))
    return marked | Q(**{f"{at_field}__lte": seen}) if seen else marked


def notification_rows(customer, user, *, unread_only=False):
    """(kind, object_id, at, read) of every notification of `customer`, newest first, as one query."""
    seen = read_before(user)
    parts = []
    for kind, (records, at_field) in _sources(customer).items():
        read = _read_q(user, kind, at_field, seen)
        if unread_only:
            records = records.exclude(read)
        parts.append(
            records.order_by().values(
                kind=Value(kind.value, output_field=CharField()),
                object_id=F("pk"),
                at=F(at_field),
                read=ExpressionWrapper(read, output_field=BooleanField()),
            )
        )
    first, *others = parts
    return first.union(*others, all=True).order_by("-at", "-object_id")


@dataclass
class Notification:
    kind: str
    object_id: int
    at: datetime
    read: bool
    title: str
    text: str

    @property
    def id(self):
        return f"{self.kind}-{self.object_id}"


def _receipt(receipt):
    payment = receipt.payment
    return _("Payment received"), _("Receipt %(number)s for your payment of %(amount)s.") % {
        "number": receipt.number,
        "amount": format_money(payment.amount, payment.currency),
    }


def _payment_reminder(reminder):
    instalment = reminder.instalment
    words = {
        "sequence": instalment.sequence,
        "policy": instalment.policy.number,
        "day": date_format(instalment.due_date),
        "amount": format_money(instalment.amount, instalment.currency),
    }
    if reminder.stage == InstalmentReminder.Stage.DAYS_15:
        title = _("Second notice: instalment overdue")
        text = _("Instalment %(sequence)s of policy %(policy)s (%(amount)s) was due on %(day)s and is still unpaid.")
    else:
        title = _("Instalment overdue")
        text = _("Instalment %(sequence)s of policy %(policy)s (%(amount)s) was due on %(day)s.")
    return title, text % words


def _renewal_notice(reminder):
    policy = reminder.policy
    return _("Your policy ends soon"), _("Policy %(policy)s ends on %(day)s; your agent can renew it.") % {
        "policy": policy.number,
        "day": date_format(policy.current_version.end_date),
    }


def _claim_status(entry):
    return _("Claim %(number)s") % {"number": entry.claim.number}, customer_words(entry, entry.claim.currency)


DESCRIBE = {
    Kind.RECEIPT: (Receipt.objects.select_related("payment"), _receipt),
    Kind.PAYMENT_REMINDER: (InstalmentReminder.objects.select_related("instalment__policy"), _payment_reminder),
    Kind.RENEWAL_NOTICE: (RenewalReminder.objects.select_related("policy__current_version"), _renewal_notice),
    Kind.CLAIM_STATUS: (ClaimTransition.objects.select_related("claim", "rejection_reason"), _claim_status),
}


def notifications_described(rows):
    """The rows of a page of `notification_rows` with their title and text, in the reader's language."""
    wanted = {}
    for row in rows:
        wanted.setdefault(row["kind"], []).append(row["object_id"])
    records = {kind: DESCRIBE[kind][0].in_bulk(ids) for kind, ids in wanted.items()}
    described = []
    for row in rows:
        title, text = DESCRIBE[row["kind"]][1](records[row["kind"]][row["object_id"]])
        described.append(Notification(**row, title=str(title), text=str(text)))
    return described


def notifications_found(customer, ids):
    """Which of `ids` ((kind, object_id) pairs) are notifications of `customer`."""
    found = set()
    wanted = {}
    for kind, object_id in ids:
        wanted.setdefault(kind, set()).add(object_id)
    for kind, object_ids in wanted.items():
        records, _at = _sources(customer)[kind]
        found |= {(kind, pk) for pk in records.filter(pk__in=object_ids).values_list("pk", flat=True)}
    return found
