"""Money is a Decimal amount with its ISO 4217 currency; amounts are rounded once, explicitly."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format

CURRENCIES = [("COP", "COP"), ("USD", "USD"), ("EUR", "EUR")]
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(amount):
    """Half-up to the cent, the way premiums and refunds are quoted to customers."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount, currency):
    """'COP 1.234.567,89' in Spanish, 'COP 1,234,567.89' in English (the active locale decides)."""
    if amount in (None, ""):
        return ""
    return f"{currency} {number_format(round_money(amount), decimal_pos=2, force_grouping=True)}"
