from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.selectors import SEES_EVERY_BOOK, book_scope_q
from portal.payments.models import Payment
from portal.payments.selectors import payments_visible_to

from .models import GatewayTransaction, WebhookEvent

Status = GatewayTransaction.Status


def gateway_transactions_visible_to(user):
    """Online payments of the customers in `user`'s book (the customer's agent owns them)."""
    return GatewayTransaction.objects.filter(book_scope_q(user, agent_field="customer__agent")).select_related(
        "customer", "customer__agent", "payment", "created_by"
    )


def gateway_attempts_for_app(user):
    """The online payments `user` sees (a customer: those for them), newest first."""
    return gateway_transactions_visible_to(user).select_related(None).order_by("-created_at", "-id")


def gateway_attempts_paid_for(user, record):
    """The online payments `user` sees that were started for `record` (e.g. a loan), newest first."""
    return gateway_attempts_for_app(user).filter(paid_for_type=record._meta.label_lower, paid_for_id=str(record.pk))


def webhook_events_visible_to(user):
    """Gateway events are the company's own records: finance, Interventoría and administrators see them all."""
    if not user.is_authenticated or not user.is_active or user.role not in SEES_EVERY_BOOK:
        return WebhookEvent.objects.none()
    return WebhookEvent.objects.all()


def webhook_events_of(user, gateway_transaction):
    """The events about a transaction, by its reference: also those not applied yet, or refused."""
    return webhook_events_visible_to(user).filter(reference=gateway_transaction.reference).order_by("received_at", "id")


class Issue:
    """What the reconciliation finds wrong with an online payment, most serious first."""

    APPROVED_WITHOUT_PAYMENT = "APPROVED_WITHOUT_PAYMENT"
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"
    PAYMENT_NOT_APPROVED = "PAYMENT_NOT_APPROVED"
    PAYMENT_REVERSED = "PAYMENT_REVERSED"
    PENDING_TOO_LONG = "PENDING_TOO_LONG"
    NONE = ""

    LABELS = {
        APPROVED_WITHOUT_PAYMENT: _("Approved by Wompi, no payment in the ledger"),
        AMOUNT_DIFFERS: _("The ledger's payment differs from what Wompi collected"),
        PAYMENT_NOT_APPROVED: _("A payment is in the ledger but Wompi did not approve it"),
        PAYMENT_REVERSED: _("Approved by Wompi, but its payment was reversed"),
        PENDING_TOO_LONG: _("Still pending"),
    }
    SERIOUS = (APPROVED_WITHOUT_PAYMENT, AMOUNT_DIFFERS, PAYMENT_NOT_APPROVED)
    CHOICES = list(LABELS.items())


def day_span(date_from, date_to):
    """[start, end) in the current time zone covering the whole days from `date_from` to `date_to`."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), zone)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), zone)
    return start, end


def reconciliation_rows(user, *, date_from, date_to, pending_hours, now=None):
    """The online payments started in [date_from, date_to], each with the `issue` it shows against
    the ledger (Issue.NONE when Wompi's account and the ledger's agree), newest first."""
    start, end = day_span(date_from, date_to)
    pending_before = (now or timezone.now()) - timedelta(hours=pending_hours)
    has_payment = Q(payment__isnull=False)
    payment_confirmed = Q(payment__status=Payment.Status.CONFIRMED)
    amounts_differ = ~Q(payment_cents=F("amount_in_cents")) | ~Q(payment__currency=F("currency"))
    return (
        gateway_transactions_visible_to(user)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(
            payment_cents=ExpressionWrapper(
                F("payment__amount") * Value(100), output_field=DecimalField(max_digits=20, decimal_places=2)
            )
        )
        .annotate(
            issue=Case(
                When(Q(status=Status.APPROVED) & ~has_payment, then=Value(Issue.APPROVED_WITHOUT_PAYMENT)),
                When(has_payment & amounts_differ, then=Value(Issue.AMOUNT_DIFFERS)),
                When(
                    has_payment & payment_confirmed & ~Q(status=Status.APPROVED), then=Value(Issue.PAYMENT_NOT_APPROVED)
                ),
                When(has_payment & ~payment_confirmed & Q(status=Status.APPROVED), then=Value(Issue.PAYMENT_REVERSED)),
                When(Q(status=Status.PENDING, created_at__lt=pending_before), then=Value(Issue.PENDING_TOO_LONG)),
                default=Value(Issue.NONE),
            )
        )
        .order_by("-created_at", "-id")
    )


def reconciliation_figures(rows):
    """Counts and sums over the rows of `reconciliation_rows`, for the page's summary cards."""
    approved = Q(status=Status.APPROVED)
    figures = rows.order_by().aggregate(
        transactions=Count("id"),
        approved=Count("id", filter=approved),
        approved_cents=Sum("amount_in_cents", filter=approved),
        recorded=Sum("payment__amount", filter=approved & Q(payment__isnull=False)),
        problems=Count("id", filter=~Q(issue=Issue.NONE)),
        serious=Count("id", filter=Q(issue__in=Issue.SERIOUS)),
    )
    figures["approved_amount"] = Decimal(figures.pop("approved_cents") or 0) / 100
    figures["recorded"] = figures["recorded"] or Decimal("0")
    return figures


def gateway_payments_without_transaction(user, *, date_from, date_to):
    """Payments the ledger says came through a gateway, in the date range, that no online payment of ours produced."""
    return (
        payments_visible_to(user)
        .filter(
            method__in=Payment.GATEWAY_METHODS,
            direction=Payment.Direction.IN,
            received_on__gte=date_from,
            received_on__lte=date_to,
            gateway_transaction__isnull=True,
        )
        .select_related("account__customer")
        .order_by("-received_on", "-id")
    )


def failed_events(user, *, date_from, date_to):
    """Gateway events in the date range that could not be applied: first the verified ones (an unknown
    transaction, an amount mismatch, Wompi's own answer disagreeing, a payment the ledger refused),
    which need someone to look; then the deliveries refused at the door (wrong checksum or signed
    properties, replays), which anyone can send. Newest first within each."""
    start, end = day_span(date_from, date_to)
    return (
        webhook_events_visible_to(user)
        .filter(status=WebhookEvent.Status.FAILED, received_at__gte=start, received_at__lt=end)
        .order_by("-verified", "-received_at", "-id")
    )
