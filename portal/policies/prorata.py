"""Pro-rata premium arithmetic over a policy's versions (daily, exclusive end dates).

A version's premium for the term runs from its effective date until a later version takes over
(from that version's effective date); a cancellation stops it. What the customer has been charged
is the sum of the versions' `premium_change`; a refund is what was charged minus what was earned.
"""

from decimal import Decimal

from portal.core.money import ZERO, round_money


def remaining_days(*, start_date, end_date, on):
    """Days of the term [start_date, end_date) still ahead on day `on`."""
    return max(0, min((end_date - start_date).days, (end_date - on).days))


def earned_premium(versions, *, until):
    """Premium earned by cover from the term's start up to (not including) `until`."""
    versions = sorted(versions, key=lambda version: version.number)
    if not versions:
        return ZERO
    term_start, term_end = versions[0].start_date, versions[0].end_date
    premium_days = Decimal(0)
    for index, current in enumerate(versions):
        if current.ends_cover:
            continue
        # A later version takes over from its own effective date, even one dated before this one's:
        # revoking a scheduled cancellation today supersedes it from today.
        superseded = min((later.effective_date for later in versions[index + 1 :]), default=term_end)
        segment_start = max(current.effective_date, term_start)
        segment_end = min(superseded, until, term_end)
        if segment_end > segment_start:
            premium_days += current.premium * (segment_end - segment_start).days
    # Sum first and divide once, so an exact half cent rounds up.
    return round_money(premium_days / (term_end - term_start).days)


def charged_premium(versions):
    return sum((version.premium_change for version in versions), ZERO)


def refund_on_cancellation(versions, *, effective_date):
    return max(ZERO, charged_premium(versions) - earned_premium(versions, until=effective_date))


def endorsement_change(*, old_premium, new_premium, start_date, end_date, effective_date):
    """What an endorsement charges (+) or returns (-) for the rest of the term (multiply, then divide once)."""
    remaining = remaining_days(start_date=start_date, end_date=end_date, on=effective_date)
    return round_money((new_premium - old_premium) * remaining / (end_date - start_date).days)
