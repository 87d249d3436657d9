"""Every write to quotes and policies: keyword-only, one transaction each, audited inside it."""

import calendar
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit.services import audit_record
from portal.core.exceptions import Conflict
from portal.core.models import next_sequence_value
from portal.customers.models import Customer

from . import prorata
from .models import PaymentFrequency, Policy, PolicyVersion, Product, Quote, RenewalReminder
from .rating import price
from .selectors import ending_soon_q

MAX_START_AHEAD_DAYS = 365
RENEWAL_WINDOW_DAYS = 90


def _today(as_of=None):
    """The business date of an operation: today, or `as_of` when an existing book is being loaded
    (the demo data and migrations from another system record past operations on their dates)."""
    return as_of or timezone.localdate()


def term_months_of(version):
    """The whole months of a version's cover period (a term is always whole months from its start)."""
    return (version.end_date.year - version.start_date.year) * 12 + version.end_date.month - version.start_date.month


def whole_years_between(earlier, later):
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def add_months(day, months):
    """The same day `months` later, or the month's last day when it has fewer days (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _check_customer_product(*, customer, product):
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer the quote is for.")})
    if not isinstance(product, Product) or not product.is_active:
        raise ValidationError({"product": _("Choose a product that is on sale.")})


def _check_payment_frequency(payment_frequency):
    if payment_frequency not in PaymentFrequency.values:
        raise ValidationError({"payment_frequency": _("Choose how often the customer pays the premium.")})


def _schedule_premium(version, *, actor, today, frequency=None):
    """The premium schedule and the customer's ledger follow every new version, in its transaction."""
    from portal.payments.services import schedule_for_version

    schedule_for_version(version=version, frequency=frequency, actor=actor, as_of=today)


def _check_start_date(start_date, *, today, field="start_date"):
    if start_date is None:
        raise ValidationError({field: _("Enter the date cover starts.")})
    if start_date < today:
        raise ValidationError({field: _("Cover cannot start in the past; the earliest start is today.")})
    if start_date > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise ValidationError({field: _("Cover can start at most one year ahead.")})


def _insured_age(*, customer, product, insured_age, on):
    """The age the price uses: the declared one, else the customer's age on the start date."""
    if not product.requires_age:
        return None
    if insured_age is not None:
        return insured_age
    return customer.age_on(on)


def _quote_number(today):
    return f"COT-{today.year}-{next_sequence_value(key='quote', year=today.year):06d}"


def _policy_number(product, today):
    value = next_sequence_value(key=f"policy:{product.code}", year=today.year)
    return f"{product.code}-{today.year}-{value:06d}"


def _lock_quote(quote):
    # of=self: lock the quote only, not its product and customer rows, which every other quote shares.
    return Quote.objects.select_for_update(of=("self",)).select_related("product", "customer").get(pk=quote.pk)


def _lock_policy(policy):
    return (
        Policy.objects.select_for_update(of=("self",))
        .select_related("product", "customer", "current_version")
        .get(pk=policy.pk)
    )


QUOTE_REFUSALS = {
    "present": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be presented. Reload the page to see it."),
    "accept": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be accepted. Reload the page to see it."),
    "decline": gettext_lazy("Quote %(number)s is «%(status)s», so it cannot be declined. Reload the page to see it."),
    "issue": gettext_lazy("Quote %(number)s is «%(status)s», so no policy can be issued from it. Reload the page."),
}
POLICY_REFUSALS = {
    "endorse": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be endorsed."),
    "cancel": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be cancelled."),
    "suspend": gettext_lazy("Policy %(number)s is «%(status)s», so it cannot be suspended."),
    "reinstate": gettext_lazy("Policy %(number)s is «%(status)s», so there is nothing to reinstate."),
}


# The statuses each step of a quote starts from.
QUOTE_STEPS_FROM = {
    "present": (Quote.Status.DRAFT,),
    "accept": (Quote.Status.QUOTED,),
    "decline": Quote.OPEN,
    "issue": (Quote.Status.ACCEPTED,),
}


def quote_actions_available(quote):
    """Which steps the quote's state allows now: the services' own rule, for the buttons a page shows."""
    return {action: quote.status in statuses for action, statuses in QUOTE_STEPS_FROM.items()}


def _refuse_stale(quote, *, action):
    if quote.status not in QUOTE_STEPS_FROM[action]:
        raise Conflict(QUOTE_REFUSALS[action] % {"number": quote.number, "status": quote.get_status_display()})


# --- quotes ----------------------------------------------------------------------------------------


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
    _check_customer_product(customer=customer, product=product)
    _check_payment_frequency(payment_frequency)
    today = _today(as_of)
    if renewal_of is None:
        _check_start_date(start_date, today=today)
    age = _insured_age(customer=customer, product=product, insured_age=insured_age, on=start_date)
    pricing = price(product=product, sum_insured=sum_insured, coverage_codes=coverage_codes, insured_age=age)
    quote = Quote.objects.create(
        number=_quote_number(today),
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


@transaction.atomic
def quote_present(*, quote, actor, as_of=None):
    """DRAFT → QUOTED: price again with today's rates, then freeze that price until `valid_until`."""
    quote = _lock_quote(quote)
    _refuse_stale(quote, action="present")
    # A draft may have waited: offer it only as a new quote would be offered today.
    _check_customer_product(customer=quote.customer, product=quote.product)
    if quote.renewal_of_id is None:
        _check_start_date(quote.start_date, today=_today(as_of))
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
    quote.valid_until = _today(as_of) + timedelta(days=quote.product.quote_validity_days)
    quote.save(update_fields=["premium", "breakdown", "end_date", "currency", "status", "valid_until"])
    audit_record(
        actor=actor,
        action="quote.presented",
        target=quote,
        metadata={"premium": str(quote.premium), "valid_until": quote.valid_until.isoformat()},
    )
    return quote


def _expire_if_overdue(quote, *, actor, today):
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
    quote = _lock_quote(quote)
    _refuse_stale(quote, action="accept")
    if _expire_if_overdue(quote, actor=actor, today=_today(as_of)):
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
    quote = _lock_quote(quote)
    _refuse_stale(quote, action="decline")
    quote.status = Quote.Status.DECLINED
    quote.decided_at = timezone.now()
    quote.decline_reason = reason[:255]
    quote.save(update_fields=["status", "decided_at", "decline_reason"])
    audit_record(actor=actor, action="quote.declined", target=quote, metadata={"reason": quote.decline_reason})
    return quote


def quotes_expire_overdue(*, today=None):
    """Quotes past their validity become EXPIRED (daily task). Returns how many expired."""
    today = today or _today()
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
            if quote is None or not _expire_if_overdue(quote, actor=None, today=today):
                continue
        expired += 1
    return expired


# --- issuance ----------------------------------------------------------------------------------------


def status_on(version, *, today):
    """The status a policy whose current version is `version` has on `today`, by its dates alone."""
    if version.ends_cover and version.effective_date <= today:
        return Policy.Status.CANCELLED
    if today < version.start_date:
        return Policy.Status.PENDING
    if today >= version.end_date:
        return Policy.Status.EXPIRED
    return Policy.Status.ACTIVE


def policy_issue(*, quote, actor, as_of=None):
    """ACCEPTED quote → policy with its number and version 1 (new business, or renewal of another policy).

    A quote found past its validity is marked EXPIRED (committed on its own) before the refusal.
    """
    today = _today(as_of)
    with transaction.atomic():
        locked = _lock_quote(quote)
        expired = locked.status == Quote.Status.ACCEPTED and _expire_if_overdue(locked, actor=actor, today=today)
    if expired:
        raise ValidationError(
            _("This quote expired on %(day)s; make a new quote.") % {"day": date_format(locked.valid_until)}
        )
    return _policy_issue(quote=quote, actor=actor, today=today)


@transaction.atomic
def _policy_issue(*, quote, actor, today):
    quote = _lock_quote(quote)
    _refuse_stale(quote, action="issue")
    if quote.renewal_of is None and quote.start_date < today:
        raise ValidationError(_("The cover start date of this quote has passed; make a new quote with a new start."))
    renewed = None
    if quote.renewal_of is not None:
        renewed = Policy.objects.select_for_update().get(pk=quote.renewal_of_id)
        if Policy.objects.filter(renewal_of=renewed).exists():
            raise Conflict(_("Policy %(number)s has already been renewed.") % {"number": renewed.number})
    policy = Policy.objects.create(
        number=_policy_number(quote.product, today),
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
    _schedule_premium(version, actor=actor, today=today, frequency=quote.payment_frequency)
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


# --- changes to a policy ---------------------------------------------------------------------------------


def _next_version(policy, *, actor, kind, reason, effective_date, premium_change, **terms):
    current = policy.current_version
    values = {
        "start_date": current.start_date,
        "end_date": current.end_date,
        "sum_insured": current.sum_insured,
        "insured_age": current.insured_age,
        "currency": current.currency,
        "coverages": current.coverages,
        "premium": current.premium,
        "breakdown": current.breakdown,
        **terms,
    }
    version = PolicyVersion.objects.create(
        policy=policy,
        number=current.number + 1,
        kind=kind,
        effective_date=effective_date,
        premium_change=premium_change,
        reason=reason,
        created_by=actor,
        **values,
    )
    policy.current_version = version
    return version


def _require_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: it is kept with the version.")})
    return reason[:255]


def _check_effective_date(policy, effective_date):
    current = policy.current_version
    if effective_date is None:
        raise ValidationError({"effective_date": _("Enter the date the change takes effect.")})
    if not current.start_date <= effective_date < current.end_date:
        raise ValidationError(
            {
                "effective_date": _("The date must fall within the cover period, %(start)s to %(end)s.")
                % {"start": date_format(current.start_date), "end": date_format(current.end_date)}
            }
        )
    if effective_date < current.effective_date:
        raise ValidationError(
            {
                "effective_date": _("The last change took effect on %(day)s; a new one cannot take effect before it.")
                % {"day": date_format(current.effective_date)}
            }
        )


IN_FORCE = (Policy.Status.ACTIVE, Policy.Status.PENDING)
CANCELLABLE = (*IN_FORCE, Policy.Status.SUSPENDED)
REINSTATABLE = (Policy.Status.SUSPENDED, Policy.Status.CANCELLED)


def _require_status(policy, allowed, action):
    if policy.status not in allowed:
        raise Conflict(POLICY_REFUSALS[action] % {"number": policy.number, "status": policy.get_status_display()})


def _refuse_if_cancellation_scheduled(policy):
    current = policy.current_version
    if current.ends_cover:
        raise Conflict(
            _("Policy %(number)s is cancelled from %(day)s; reinstate it first.")
            % {"number": policy.number, "day": date_format(current.effective_date)}
        )


def _versions(policy):
    return list(PolicyVersion.objects.filter(policy=policy).order_by("number"))


def endorsement_preview(*, policy, effective_date, sum_insured=None, coverage_codes=None, insured_age=None):
    """What an endorsement would do (nothing is written): (new terms, pricing, pro-rata premium change).

    Raises ValidationError exactly as `policy_endorse` would, so a form can show the reason live.
    """
    _require_status(policy, IN_FORCE, "endorse")
    _refuse_if_cancellation_scheduled(policy)
    _check_effective_date(policy, effective_date)
    current = policy.current_version
    terms = {
        "sum_insured": current.sum_insured if sum_insured in (None, "") else sum_insured,
        "coverage_codes": list(coverage_codes)
        if coverage_codes is not None
        else [c["code"] for c in current.coverages],
        "insured_age": (insured_age if insured_age is not None else current.insured_age)
        if policy.product.requires_age
        else None,
    }
    if policy.product.currency != current.currency:
        raise ValidationError(
            _("%(product)s is now sold in %(new)s but this policy is in %(old)s; it cannot be endorsed, only renewed.")
            % {"product": policy.product.name, "new": policy.product.currency, "old": current.currency}
        )
    pricing = price(product=policy.product, term_months=term_months_of(current), **terms)
    terms["sum_insured"] = Decimal(terms["sum_insured"])
    if (
        terms["sum_insured"] == current.sum_insured
        and terms["insured_age"] == current.insured_age
        and {line["code"] for line in pricing.coverages} == {line["code"] for line in current.coverages}
    ):
        raise ValidationError(_("Nothing changes: change the sum insured, the coverages or the insured's age."))
    change = prorata.endorsement_change(
        old_premium=current.premium,
        new_premium=pricing.total,
        start_date=current.start_date,
        end_date=current.end_date,
        effective_date=effective_date,
    )
    return terms, pricing, change


@transaction.atomic
def policy_endorse(*, policy, actor, effective_date, reason, sum_insured=None, coverage_codes=None, insured_age=None):
    """A change of cover mid-term: a new version priced at today's rates, charged or returned pro rata."""
    policy = _lock_policy(policy)
    reason = _require_reason(reason)
    current = policy.current_version
    terms, pricing, change = endorsement_preview(
        policy=policy,
        effective_date=effective_date,
        sum_insured=sum_insured,
        coverage_codes=coverage_codes,
        insured_age=insured_age,
    )
    breakdown = pricing.as_breakdown()
    version = _next_version(
        policy,
        actor=actor,
        kind=PolicyVersion.Kind.ENDORSEMENT,
        reason=reason,
        effective_date=effective_date,
        premium_change=change,
        sum_insured=terms["sum_insured"],
        insured_age=terms["insured_age"],
        coverages=breakdown["coverages"],
        premium=pricing.total,
        breakdown=breakdown,
    )
    policy.save(update_fields=["current_version"])
    _schedule_premium(version, actor=actor, today=_today())
    audit_record(
        actor=actor,
        action="policy.endorsed",
        target=policy,
        metadata={
            "version": version.number,
            "effective_date": effective_date.isoformat(),
            "sum_insured": {"from": str(current.sum_insured), "to": str(terms["sum_insured"])},
            "premium": {"from": str(current.premium), "to": str(pricing.total)},
            "premium_change": str(change),
            "reason": reason,
        },
    )
    return policy


def cancellation_preview(*, policy, effective_date):
    """The pro-rata premium returned if `policy` is cancelled on `effective_date`; refuses exactly
    as `policy_cancel` would, so a form can show the reason live. Nothing is written."""
    _require_status(policy, CANCELLABLE, "cancel")
    _refuse_if_cancellation_scheduled(policy)
    _check_effective_date(policy, effective_date)
    return prorata.refund_on_cancellation(_versions(policy), effective_date=effective_date)


@transaction.atomic
def policy_cancel(*, policy, actor, effective_date, reason, as_of=None):
    """Cancel from `effective_date` (cover stops at its start); the unearned premium is returned pro rata."""
    policy = _lock_policy(policy)
    reason = _require_reason(reason)
    refund = cancellation_preview(policy=policy, effective_date=effective_date)
    version = _next_version(
        policy,
        actor=actor,
        kind=PolicyVersion.Kind.CANCELLATION,
        reason=reason,
        effective_date=effective_date,
        premium_change=-refund,
    )
    _schedule_premium(version, actor=actor, today=_today(as_of))
    previous = policy.status
    status = status_on(version, today=_today(as_of))
    # A suspended policy stays on hold until the cancellation takes effect.
    if previous != Policy.Status.SUSPENDED or status == Policy.Status.CANCELLED:
        policy.status = status
    if policy.status != previous:
        policy.status_changed_at = timezone.now()
    policy.save(update_fields=["current_version", "status", "status_changed_at"])
    audit_record(
        actor=actor,
        action="policy.cancelled",
        target=policy,
        metadata={
            "version": version.number,
            "effective_date": effective_date.isoformat(),
            "refund": str(refund),
            "currency": version.currency,
            "reason": reason,
        },
    )
    return policy


@transaction.atomic
def policy_suspend(*, policy, actor, reason):
    """Cover on hold (e.g. non-payment); the terms do not change, so there is no new version."""
    policy = _lock_policy(policy)
    _require_status(policy, [Policy.Status.ACTIVE], "suspend")
    reason = _require_reason(reason)
    policy.status = Policy.Status.SUSPENDED
    policy.status_changed_at = timezone.now()
    policy.save(update_fields=["status", "status_changed_at"])
    audit_record(actor=actor, action="policy.suspended", target=policy, metadata={"reason": reason})
    return policy


@transaction.atomic
def policy_reinstate(*, policy, actor, reason, as_of=None):
    """Back in force: a suspended policy resumes; a cancelled one gets a reinstatement version that
    restores its terms from the cancellation date and charges back the premium that was returned."""
    policy = _lock_policy(policy)
    current = policy.current_version
    if not current.ends_cover:
        _require_status(policy, REINSTATABLE, "reinstate")
    reason = _require_reason(reason)
    today = _today(as_of)
    if current.end_date <= today:
        raise ValidationError(
            _("The cover period of %(number)s has ended; renew it instead.") % {"number": policy.number}
        )
    metadata = {"from": policy.status, "reason": reason}
    if current.ends_cover:
        restored = PolicyVersion.objects.filter(policy=policy, number__lt=current.number).order_by("-number").first()
        # A cancellation that took effect is undone from its own date (cover without a gap); one
        # still ahead is withdrawn from today, so changes dated from today on stay possible.
        effective = current.effective_date if current.effective_date <= today else max(today, current.start_date)
        version = _next_version(
            policy,
            actor=actor,
            kind=PolicyVersion.Kind.REINSTATEMENT,
            reason=reason,
            effective_date=effective,
            premium_change=-current.premium_change,
            sum_insured=restored.sum_insured,
            insured_age=restored.insured_age,
            coverages=restored.coverages,
            premium=restored.premium,
            breakdown=restored.breakdown,
        )
        metadata.update(version=version.number, premium_change=str(version.premium_change))
        _schedule_premium(version, actor=actor, today=today)
    # Withdrawing a cancellation of a suspended policy leaves the suspension for its own reinstatement.
    if not (policy.status == Policy.Status.SUSPENDED and current.ends_cover):
        policy.status = status_on(policy.current_version, today=today)
        policy.status_changed_at = timezone.now()
    policy.save(update_fields=["current_version", "status", "status_changed_at"])
    audit_record(actor=actor, action="policy.reinstated", target=policy, metadata=metadata)
    return policy


LAPSABLE = (Policy.Status.ACTIVE, Policy.Status.SUSPENDED)


@transaction.atomic
def policy_lapse(*, policy, actor=None, as_of=None):
    """The policy ends for non-payment: an instalment is still unpaid past the grace period
    (AMPARO_LAPSE_GRACE_DAYS). Cover stops today; the instalments due later are cancelled, what fell
    due before stays owed. Terms do not change, so there is no new version. `actor` None is the
    daily task."""
    from portal.payments.services import instalments_cancel_after_lapse, lapse_due_on, lapse_grace_days

    policy = _lock_policy(policy)
    today = _today(as_of)
    if policy.status not in LAPSABLE:
        raise Conflict(
            _("Policy %(number)s is «%(status)s», so it cannot lapse.")
            % {"number": policy.number, "status": policy.get_status_display()}
        )
    overdue = lapse_due_on(policy, today=today)
    if overdue is None:
        raise ValidationError(
            _("Policy %(number)s has no instalment unpaid for more than %(days)s days; it does not lapse.")
            % {"number": policy.number, "days": lapse_grace_days()}
        )
    previous = policy.status
    policy.status = Policy.Status.LAPSED
    policy.status_changed_at = timezone.now()
    policy.save(update_fields=["status", "status_changed_at"])
    cancelled = instalments_cancel_after_lapse(policy=policy, actor=actor, as_of=today)
    audit_record(
        actor=actor,
        actor_label=None if actor else "scheduler",
        action="policy.lapsed",
        target=policy,
        metadata={
            "from": previous,
            "on": today.isoformat(),
            "instalment": overdue.sequence,
            "due": overdue.due_date.isoformat(),
            "outstanding": str(overdue.outstanding),
            "currency": overdue.currency,
            "instalments_cancelled": len(cancelled),
        },
    )
    return policy


# --- renewals ----------------------------------------------------------------------------------------


def _check_renewable(policy, today):
    current = policy.current_version
    _refuse_if_cancellation_scheduled(policy)
    if policy.status in (Policy.Status.CANCELLED, Policy.Status.SUSPENDED, Policy.Status.LAPSED):
        raise Conflict(
            _("Policy %(number)s is %(status)s; only policies in force are renewed.")
            % {"number": policy.number, "status": policy.get_status_display().lower()}
        )
    if Policy.objects.filter(renewal_of=policy).exists():
        raise Conflict(_("Policy %(number)s has already been renewed.") % {"number": policy.number})
    if current.end_date > today + timedelta(days=RENEWAL_WINDOW_DAYS):
        raise ValidationError(
            _("Policy %(number)s ends on %(day)s; it can be renewed from %(days)s days before that.")
            % {"number": policy.number, "day": date_format(current.end_date), "days": RENEWAL_WINDOW_DAYS}
        )
    if current.end_date < today - timedelta(days=30):
        raise ValidationError(
            _("Policy %(number)s ended more than 30 days ago; issue a new policy instead.") % {"number": policy.number}
        )
    if not policy.product.is_active:
        raise ValidationError(
            _("%(product)s is no longer on sale; offer the customer another product.")
            % {"product": policy.product.name}
        )


def policy_actions_available(policy, *, today=None):
    """Which changes the policy's state allows today: the same rules the services enforce, for the
    buttons a page shows (a user's permissions are checked apart)."""
    today = _today(today)
    current = policy.current_version
    try:
        _check_renewable(policy, today)
    except ValidationError:
        renewable = False
    else:
        renewable = True
    return {
        "endorse": policy.status in IN_FORCE and not current.ends_cover,
        "cancel": policy.status in CANCELLABLE and not current.ends_cover,
        "suspend": policy.status == Policy.Status.ACTIVE,
        "reinstate": (current.ends_cover or policy.status in REINSTATABLE) and current.end_date > today,
        "renew": renewable,
    }


@transaction.atomic
def policy_renew(*, policy, actor, as_of=None):
    """Renew for the next term at today's rates: a renewal quote, accepted and issued as a new policy
    that starts the day this one ends and is linked to it."""
    policy = _lock_policy(policy)
    today = _today(as_of)
    _check_renewable(policy, today)
    current = policy.current_version
    start = max(current.end_date, today)
    age = None
    if policy.product.requires_age:
        # Without a birth date on file, the age declared last term grows with the years passed.
        age = policy.customer.age_on(start)
        if age is None:
            age = current.insured_age + whole_years_between(current.start_date, start)
    quote = quote_create(
        actor=actor,
        customer=policy.customer,
        product=policy.product,
        start_date=start,
        sum_insured=current.sum_insured,
        coverage_codes=[line["code"] for line in current.coverages],
        insured_age=age,
        renewal_of=policy,
        payment_frequency=policy.payment_frequency,
        as_of=as_of,
    )
    quote = quote_accept(quote=quote, actor=actor, as_of=as_of)
    return policy_issue(quote=quote, actor=actor, as_of=as_of)


# --- what follows the calendar ------------------------------------------------------------------------


def policies_follow_dates(*, today=None):
    """Daily: pending policies start, finished ones expire, scheduled cancellations take effect.

    Each policy changes in its own short transaction (a lock on that row only), so a long run
    never blocks the portal; returns {status: count} of the changes made.
    """
    today = today or _today()
    live = [Policy.Status.PENDING, Policy.Status.ACTIVE, Policy.Status.SUSPENDED]
    due = (
        Policy.objects.filter(
            Q(status=Policy.Status.PENDING, current_version__start_date__lte=today)
            | Q(status__in=live, current_version__end_date__lte=today)
            | Q(
                status__in=live,
                current_version__kind=PolicyVersion.Kind.CANCELLATION,
                current_version__effective_date__lte=today,
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changes = {}
    for pk in due.iterator(chunk_size=2000):
        with transaction.atomic():
            policy = Policy.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=pk)
            status = status_on(policy.current_version, today=today)
            if policy.status == Policy.Status.SUSPENDED and status == Policy.Status.ACTIVE:
                continue
            if status == policy.status:
                continue
            previous = policy.status
            policy.status = status
            policy.status_changed_at = timezone.now()
            policy.save(update_fields=["status", "status_changed_at"])
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="policy.status_changed",
                target=policy,
                metadata={"from": previous, "to": status, "on": today.isoformat()},
            )
            changes[status] = changes.get(status, 0) + 1
    return changes


def renewal_reminder_stage(*, end_date, today):
    """Which reminder is due: 30 days out, then 7 days out; None outside those windows."""
    days_left = (end_date - today).days
    if 7 < days_left <= 30:
        return RenewalReminder.Stage.DAYS_30
    if 0 < days_left <= 7:
        return RenewalReminder.Stage.DAYS_7
    return None


def renewal_reminders_due(*, today):
    return (
        Policy.objects.filter(ending_soon_q(today=today, days=RenewalReminder.Stage.DAYS_30))
        .exclude(customer__email_primary="")
        .select_related("customer", "customer__agent", "product", "current_version")
        .order_by("pk")
    )


def renewal_reminder_record(*, policy, stage):
    """Claim the right to send `stage` for `policy`: True once, False every later time (a unique row)."""
    try:
        with transaction.atomic():
            reminder = RenewalReminder.objects.create(policy=policy, stage=stage, email=policy.customer.email_primary)
            audit_record(
                actor=None,
                actor_label="scheduler",
                action="policy.renewal_reminder_sent",
                target=policy,
                metadata={"stage": stage, "to": reminder.email, "ends": policy.current_version.end_date.isoformat()},
            )
    except IntegrityError:
        return False
    return True


# --- configuration ---------------------------------------------------------------------------------


@transaction.atomic
def product_configuration_record(*, actor, product, created):
    """Audit a product saved by an administrator, with the coverages and rules it now has.

    Quotes keep the price they showed and versions are immutable, so a change here only prices
    what is quoted or endorsed from now on.
    """
    audit_record(
        actor=actor,
        action="product.created" if created else "product.changed",
        target=product,
        metadata={
            "on_sale": product.is_active,
            "coverages": {c.code: str(c.rate_per_mille) for c in product.coverages.all()},
            "rules": [f"{r.factor} {r.low}-{r.high} x{r.multiplier}" for r in product.rating_rules.all()],
        },
    )


def renewal_reminders_send(*, today=None):
    """Daily: email each customer whose policy ends in 30 or 7 days, once per policy and stage.

    The reminder row is written first and the email is queued only when that row's transaction
    commits, so two schedulers running at once still send one email.
    """
    from portal.policies.documents import renewal_reminder_email
    from tasks.notifications import email_message_send

    today = today or _today()
    sent = 0
    for policy in renewal_reminders_due(today=today).iterator(chunk_size=500):
        stage = renewal_reminder_stage(end_date=policy.current_version.end_date, today=today)
        if stage is None:
            continue
        # The row, the rendered email and its queueing stand or fall together.
        with transaction.atomic():
            if not renewal_reminder_record(policy=policy, stage=stage):
                continue
            message = renewal_reminder_email(policy=policy, stage=stage, today=today)
            transaction.on_commit(lambda message=message: email_message_send(**message))
        sent += 1
    return sent
