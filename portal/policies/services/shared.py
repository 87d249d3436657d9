"""What every policies operation shares: locks on a quote or a policy, their numbers, the premium
schedule that follows each new version, and the checks of what a quote is made of."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.core.models import next_sequence_value
from portal.customers.models import Customer
from portal.payments.services import schedule_for_version

from ..models import PaymentFrequency, Policy, Product, Quote

MAX_START_AHEAD_DAYS = 365


def check_customer_product(*, customer, product):
    if not isinstance(customer, Customer) or customer.pk is None:
        raise ValidationError({"customer": _("Choose the customer the quote is for.")})
    if not isinstance(product, Product) or not product.is_active:
        raise ValidationError({"product": _("Choose a product that is on sale.")})


def check_payment_frequency(payment_frequency):
    if payment_frequency not in PaymentFrequency.values:
        raise ValidationError({"payment_frequency": _("Choose how often the customer pays the premium.")})


def check_start_date(start_date, *, today, field="start_date"):
    if start_date is None:
        raise ValidationError({field: _("Enter the date cover starts.")})
    if start_date < today:
        raise ValidationError({field: _("Cover cannot start in the past; the earliest start is today.")})
    if start_date > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise ValidationError({field: _("Cover can start at most one year ahead.")})


def insured_age_for(*, customer, product, insured_age, on):
    """The age the price uses: the declared one, else the customer's age on the start date."""
    if not product.requires_age:
        return None
    if insured_age is not None:
        return insured_age
    return customer.age_on(on)


def quote_number(today):
    return f"COT-{today.year}-{next_sequence_value(key='quote', year=today.year):06d}"


def policy_number(product, today):
    value = next_sequence_value(key=f"policy:{product.code}", year=today.year)
    return f"{product.code}-{today.year}-{value:06d}"


def lock_quote(quote):
    # of=self: lock the quote only, not its product and customer rows, which every other quote shares.
    return Quote.objects.select_for_update(of=("self",)).select_related("product", "customer").get(pk=quote.pk)


def lock_policy(policy):
    return (
        Policy.objects.select_for_update(of=("self",))
        .select_related("product", "customer", "current_version")
        .get(pk=policy.pk)
    )


def schedule_premium(version, *, actor, today, frequency=None):
    """The premium schedule and the customer's ledger follow every new version, in its transaction."""
    schedule_for_version(version=version, frequency=frequency, actor=actor, as_of=today)
