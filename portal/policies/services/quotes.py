"""Quotes: priced, presented with a frozen price, accepted or declined, and expired when their validity passes."""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.dates import add_months, business_date

from ..lifecycle import (
    refuse_stale_quote,
)
from ..models import PaymentFrequency, Quote
from ..rating import price
from .shared import (
    check_customer_product,
    check_payment_frequency,
    check_start_date,
    insured_age_for,
    lock_quote,
    quote_number,
)


@transaction.atomic
def quote_create(
    *,
    actor,
    customer,
    product,
    start_date,
    sum_insured,
    coverage_codes,
    insured_age=None,
    present=True,
    renewal_of=None,
    payment_frequency=PaymentFrequency.ANNUAL,
    as_of=None,
):
    """Price the inputs and save a quote: presented to the customer (QUOTED, price frozen) or a DRAFT."""
    check_customer_product(customer=customer, product=product)
    check_payment_frequency(payment_frequency)
    today = business_date(as_of)
    if renewal_of is None:
        check_start_date(start_date, today=today)
    age = insured_age_for(customer=customer, product=product, insured_age=insured_age, on=start_date)
    pricing = price(product=product, sum_insured=sum_insured, coverage_codes=coverage_codes, insured_age=age)
    quote = Quote.objects.create(
        number=quote_number(today),
        customer=customer,
        product=product,
        status=Quote.Status.DRAFT,
        start_date=start_date,
        end_date=add_months(start_date, product.term_months),
        sum_insured=Decimal(sum_insured),
        coverage_codes=[line["code"] for line in pricing.coverages],
        insured_age=age,
        currency=pricing.currency,
        premium=pricing.total,
        breakdown=pricing.as_breakdown(),
        renewal_of=renewal_of,
        payment_frequency=payment_frequency,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="quote.created",
        target=quote,
        metadata={
            "product": product.code,
            "premium": str(quote.premium),
            "currency": quote.currency,
            "payment_frequency": payment_frequency,
        },
    )
    if present:
        quote = quote_present(quote=quote, actor=actor, as_of=as_of)
    return quote


def app_quote_create(*, customer, actor, product, start_date, sum_insured, coverage_codes, payment_frequency):
    """A customer's own quote from the app: only for a product sold in the app, priced for their own
    age (from their birth date, never a declared one), and presented at once with its frozen price."""
    if not getattr(product, "sold_in_app", False):
        raise ValidationError({"product": _("This product is not sold in the app. Ask your agent.")})
    if customer.user_id != actor.pk:
        raise ValidationError(_("Customers quote only for themselves in the app."))
    return quote_create(
        actor=actor,
        customer=customer,
        product=product,
        start_date=start_date,
        sum_insured=sum_insured,
        coverage_codes=coverage_codes,
        payment_frequency=payment_frequency,
    )


@transaction.atomic
def quote_present(*, quote, actor, as_of=None):
    """DRAFT → QUOTED: price again with today's rates, then freeze that price until `valid_until`."""
    quote = lock_quote(quote)
    refuse_stale_quote(quote, action="present")
    # A draft may have waited: offer it only as a new quote would be offered today.
    check_customer_product(customer=quote.customer, product=quote.product)
    if quote.renewal_of_id is None:
        check_start_date(quote.start_date, today=business_date(as_of))
    pricing = price(
        product=quote.product,
        sum_insured=quote.sum_insured,
        coverage_codes=quote.coverage_codes,
        insured_age=quote.insured_age,
    )
    quote.premium = pricing.total
    quote.breakdown = pricing.as_breakdown()
    # Priced for the product's term today, so the cover period follows it too.
    quote.end_date = add_months(quote.start_date, quote.product.term_months)
    quote.currency = pricing.currency
    quote.status = Quote.Status.QUOTED
    quote.valid_until = business_date(as_of) + timedelta(days=quote.product.quote_validity_days)
    quote.save(update_fields=["premium", "breakdown", "end_date", "currency", "status", "valid_until"])
    audit_record(
        actor=actor,
        action="quote.presented",
        target=quote,
        metadata={"premium": str(quote.premium), "valid_until": quote.valid_until.isoformat()},
    )
    return quote


def expire_if_overdue(quote, *, actor, today):
    if quote.valid_until is not None and quote.valid_until < today:
        quote.status = Quote.Status.EXPIRED
        quote.decided_at = timezone.now()
        quote.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor,
            actor_label=None if actor else "scheduler",
            action="quote.expired",
            target=quote,
            metadata={"valid_until": str(quote.valid_until)},
        )
        return True
    return False


@transaction.atomic
def quote_accept(*, quote, actor, as_of=None):
    """QUOTED → ACCEPTED by the customer, at the frozen price, while the quote is still valid."""
    quote = lock_quote(quote)
    refuse_stale_quote(quote, action="accept")
    if expire_if_overdue(quote, actor=actor, today=business_date(as_of)):
        return quote
    quote.status = Quote.Status.ACCEPTED
    quote.decided_at = timezone.now()
    quote.save(update_fields=["status", "decided_at"])
    audit_record(actor=actor, action="quote.accepted", target=quote, metadata={"premium": str(quote.premium)})
    return quote


@transaction.atomic
def quote_decline(*, quote, actor, reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the quote is declined.")})
    quote = lock_quote(quote)
    refuse_stale_quote(quote, action="decline")
    quote.status = Quote.Status.DECLINED
    quote.decided_at = timezone.now()
    quote.decline_reason = reason[:255]
    quote.save(update_fields=["status", "decided_at", "decline_reason"])
    audit_record(actor=actor, action="quote.declined", target=quote, metadata={"reason": quote.decline_reason})
    return quote


def quotes_expire_overdue(*, today=None):
    """Quotes past their validity become EXPIRED (daily task). Returns how many expired."""
    today = business_date(today)
    overdue = (
        Quote.objects.filter(status__in=[Quote.Status.QUOTED, Quote.Status.ACCEPTED], valid_until__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    # One short transaction per quote, as for policies: a long run never holds many row locks.
    for pk in overdue.iterator(chunk_size=2000):
        with transaction.atomic():
            quote = (
                Quote.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status__in=[Quote.Status.QUOTED, Quote.Status.ACCEPTED])
                .first()
            )
            if quote is None or not expire_if_overdue(quote, actor=None, today=today):
                continue
        expired += 1
    return expired
