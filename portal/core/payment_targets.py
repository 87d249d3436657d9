"""What an online payment may be for besides the customer's premium account. The gateways collect the
money and record it when Wompi approves it; a domain that takes payments of its own (loans) registers
here at start-up how to check a payment before it is started and how to receive it once approved, so the
gateways never import that domain (both sit in the domains' layer, and loans already call payments)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class PaymentTarget:
    # The model label (`_meta.label_lower`) of what is paid, kept on the gateway's transaction.
    label: str
    # check(*, target_id, customer, amount, currency): raises ValidationError (or Conflict) when a
    # payment of `amount` by `customer` may not be started for the target now.
    check: Callable
    # receive(*, target_id, customer, amount, currency, method, reference, source, received_on): records
    # the approved payment through the ledger and applies it; the Payment. Called inside the gateway's
    # transaction, with the gateway transaction (`source`) locked; raises ValidationError to refuse.
    receive: Callable


_registry = {}


def register(target):
    _registry[target.label] = target


def target_for(label):
    """The registered target for a model label; ValidationError when nothing takes payments for it."""
    target = _registry.get(label)
    if target is None:
        raise ValidationError(_("Online payments cannot be made for this."))
    return target
