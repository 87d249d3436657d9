"""Every write about online payments, one module per operation: starting one with Wompi (attempts),
learning how it ended from Wompi's own answer (outcomes), and receiving Wompi's events (receiving).
The worker applies stored events in `portal.gateways.apply`.

A transaction's status only ever moves forward, under a row lock, and only on Wompi's word: a
verified event or Wompi's own answer to GET /transactions/{id}. What the payer's app or browser says
is never taken for it.
"""

from .attempts import (
    GATEWAY_CURRENCIES,
    MAX_CARD_INSTALLMENTS,
    PSE_COMPANY,
    PSE_DESCRIPTION_MAX,
    PSE_LEGAL_ID_TYPES,
    PSE_PERSON,
    GatewayUnavailable,
    amount_in_cents,
    online_payment_start,
    payment_method_for_wompi,
)
from .outcomes import gateway_transaction_refresh, refresh_available
from .receiving import WebhookOutcome, wompi_event_receive

__all__ = [
    "GATEWAY_CURRENCIES",
    "MAX_CARD_INSTALLMENTS",
    "PSE_COMPANY",
    "PSE_DESCRIPTION_MAX",
    "PSE_LEGAL_ID_TYPES",
    "PSE_PERSON",
    "GatewayUnavailable",
    "WebhookOutcome",
    "amount_in_cents",
    "gateway_transaction_refresh",
    "online_payment_start",
    "payment_method_for_wompi",
    "refresh_available",
    "wompi_event_receive",
]
