"""Premium schedule arithmetic: no database, no dates other than those given (like `prorata.py`)."""

from decimal import ROUND_DOWN, Decimal

from portal.core.dates import add_months
from portal.core.money import CENT
from portal.policies.models import PaymentFrequency


def split_amount(total, count):
    """`total` in `count` parts to the cent that add up exactly to it: equal parts rounded down, the
    remainder on the last one. Fewer parts (down to one) when there are fewer cents than parts."""
    total = Decimal(total)
    cents = int((total / CENT).to_integral_value())
    if total <= 0:
        return []
    count = max(1, min(count, cents))
    part = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def schedule_due_dates(*, start_date, end_date, frequency):
    """The due dates of a term paid at `frequency`: its start, then every period after it, within the term."""
    months = PaymentFrequency(frequency).months
    dates, index = [], 0
    while True:
        due = add_months(start_date, months * index)
        if due >= end_date:
            return dates or [start_date]
        dates.append(due)
        index += 1


def premium_schedule(*, premium, start_date, end_date, frequency):
    """[(due date, amount)] of a term's premium: the amounts always add up to `premium` exactly."""
    dates = schedule_due_dates(start_date=start_date, end_date=end_date, frequency=frequency)
    return list(zip(dates, split_amount(premium, len(dates)), strict=False))
