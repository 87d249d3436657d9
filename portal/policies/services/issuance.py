"""Issuance: an accepted quote becomes a numbered policy with its first immutable version."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.dates import business_date
from portal.core.exceptions import Conflict
from portal.outbox.models import EventType

from ..events import policy_event_publish
from ..lifecycle import (
    refuse_stale_quote,
    status_on,
)
from ..models import Policy, PolicyVersion, Quote
from .quotes import expire_if_overdue, quote_accept
from .shared import (
    lock_quote,
    policy_number,
    schedule_premium,
)


def policy_issue(*, quote, actor, as_of=None):
    """ACCEPTED quote → policy with its number and version 1 (new business, or renewal of another policy).

    A quote found past its validity is marked EXPIRED (committed on its own) before the refusal.
    """
    today = business_date(as_of)
    with transaction.atomic():
        locked = lock_quote(quote)
        expired = locked.status == Quote.Status.ACCEPTED and expire_if_overdue(locked, actor=actor, today=today)
    if expired:
        raise ValidationError(
            _("This quote expired on %(day)s; make a new quote.") % {"day": date_format(locked.valid_until)}
        )
    return _policy_issue(quote=quote, actor=actor, today=today)


@transaction.atomic
def _policy_issue(*, quote, actor, today):
    quote = lock_quote(quote)
    refuse_stale_quote(quote, action="issue")
    if quote.renewal_of is None and quote.start_date < today:
        raise ValidationError(_("The cover start date of this quote has passed; make a new quote with a new start."))
    renewed = None
    if quote.renewal_of is not None:
        renewed = Policy.objects.select_for_update().get(pk=quote.renewal_of_id)
        if Policy.objects.filter(renewal_of=renewed).exists():
            raise Conflict(_("Policy %(number)s has already been renewed.") % {"number": renewed.number})
    policy = Policy.objects.create(
        number=policy_number(quote.product, today),
        product=quote.product,
        customer=quote.customer,
        quote=quote,
        renewal_of=renewed,
        payment_frequency=quote.payment_frequency,
    )
    kind = PolicyVersion.Kind.RENEWAL if renewed else PolicyVersion.Kind.NEW_BUSINESS
    version = PolicyVersion.objects.create(
        policy=policy,
        number=1,
        kind=kind,
        effective_date=quote.start_date,
        start_date=quote.start_date,
        end_date=quote.end_date,
        sum_insured=quote.sum_insured,
        insured_age=quote.insured_age,
        currency=quote.currency,
        coverages=quote.breakdown.get("coverages", []),
        premium=quote.premium,
        breakdown=quote.breakdown,
        premium_change=quote.premium,
        # The kind and the renewal link say what this version is; a stored sentence would keep
        # the language of whoever issued it.
        reason="",
        created_by=actor,
    )
    policy.current_version = version
    policy.status = status_on(version, today=today)
    policy.save(update_fields=["current_version", "status"])
    # Before the schedule: credit on the account pays the first instalments there, and the core must
    # learn of the policy before any payment towards it.
    policy_event_publish(policy, event_type=EventType.POLICY_RENEWED if renewed else EventType.POLICY_ISSUED, on=today)
    schedule_premium(version, actor=actor, today=today, frequency=quote.payment_frequency)
    quote.status = Quote.Status.ISSUED
    quote.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="policy.issued",
        target=policy,
        metadata={
            "quote": quote.number,
            "kind": kind,
            "premium": str(version.premium),
            "currency": version.currency,
            "renews": renewed.number if renewed else None,
            "payment_frequency": policy.payment_frequency,
        },
    )
    return policy


def quote_accept_and_issue(*, quote, actor, as_of=None):
    """The app's one step: the customer accepts their presented quote and the policy is issued at once,
    at the quote's frozen price, by the same issuance as the portal's; a quote an agent already accepted
    is issued. All or nothing: a refused issuance leaves the quote as it was (an expired one is marked
    EXPIRED, as policy_issue does)."""
    today = business_date(as_of)
    with transaction.atomic():
        locked = lock_quote(quote)
        expired = locked.status in (Quote.Status.QUOTED, Quote.Status.ACCEPTED) and expire_if_overdue(
            locked, actor=actor, today=today
        )
    if expired:
        raise Conflict(_("This quote expired on %(day)s; make a new quote.") % {"day": date_format(locked.valid_until)})
    with transaction.atomic():
        if locked.status == Quote.Status.QUOTED:
            quote_accept(quote=locked, actor=actor, as_of=today)
        return _policy_issue(quote=locked, actor=actor, today=today)
