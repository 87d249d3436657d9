"""The premium movements of the Coverholder Reporting Standards in the import's SQL: which rows are
return premiums, the standard's transaction type of a row written in earlier words, its type of
business, and a premium amount's stored sign (negative in a return premium row, whatever the sender
wrote). Each expression reads the parsed layer of `engine.Batch.build_typed` (`<field>__v` for a
looked-up value, `<field>__a` for an amount)."""

from . import parsing
from .fields import ADDITIONAL, BY_SIGN, LEGACY_TRANSACTION_TYPES, RETURN, RETURN_TYPES
from .sql import quote


def _words(values):
    return ", ".join(quote(value) for value in values)


def _is_return_sql():
    """Whether a risk row is a return premium: by its type, or for the earlier words Endorsement and
    Adjustment by the sign of its gross premium (over the parsed layer of `Batch.build_typed`)."""
    legacy = LEGACY_TRANSACTION_TYPES.items()
    returns = [*RETURN_TYPES, *(word for word, (movement, _business) in legacy if movement in RETURN_TYPES)]
    by_sign = [word for word, (movement, _business) in legacy if movement == BY_SIGN]
    return (
        f"(CASE WHEN transaction_type__v IN ({_words(returns)}) OR "
        f"(transaction_type__v IN ({_words(by_sign)}) AND gross_premium__a < 0) THEN 1 ELSE 0 END = 1)"
    )


def _transaction_type_sql():
    """The standard's transaction type of a row written with an earlier word (see LEGACY_TRANSACTION_TYPES)."""
    whens = []
    for word, (movement, _business) in LEGACY_TRANSACTION_TYPES.items():
        if movement == BY_SIGN:
            movement_sql = f"CASE WHEN gross_premium__a < 0 THEN {quote(RETURN)} ELSE {quote(ADDITIONAL)} END"
        else:
            movement_sql = quote(movement)
        whens.append(f"WHEN {quote(word)} THEN {movement_sql}")
    return f"CASE transaction_type__v {' '.join(whens)} ELSE transaction_type__v END"


def _business_type_sql():
    """New or Renewal from its own column, or else from an earlier word that said it (New, Renewal)."""
    whens = " ".join(
        f"WHEN {quote(word)} THEN {quote(business)}"
        for word, (_movement, business) in LEGACY_TRANSACTION_TYPES.items()
        if business
    )
    return f"COALESCE(business_type__v, CASE transaction_type__v {whens} END)"


# Fields whose stored value is worked out from more than their own cell.
DERIVED_VALUES = {"transaction_type": _transaction_type_sql(), "business_type": _business_type_sql()}


def signed_amount_sql(amount):
    """The stored value of a premium `amount`, and the condition under which it is wrongly negative:
    a return premium is stored negative whichever sign the sender gave it; elsewhere it must not be."""
    is_return = _is_return_sql()
    value = (
        f"CASE WHEN ABS({amount}) <= {parsing.MAX_AMOUNT} AND ({amount} >= 0 OR {is_return}) "
        f"THEN CASE WHEN {is_return} THEN -ABS({amount}) ELSE {amount} END END"
    )
    return value, f"{amount} < 0 AND NOT {is_return}"
