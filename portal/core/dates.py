"""Calendar arithmetic the domains share: months, whole years, and the business date of an operation."""

import calendar

from django.utils import timezone


def business_date(as_of=None):
    """The business date of an operation: today, or `as_of` when an existing book is being loaded
    (the demo data and migrations from another system record past operations on their dates)."""
    return as_of or timezone.localdate()


def add_months(day, months):
    """The same day `months` later, or the month's last day when it has fewer days (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def whole_months_between(start, end):
    """The whole months from `start` to `end` (a policy's term is always whole months from its start)."""
    return (end.year - start.year) * 12 + end.month - start.month


def whole_years_between(earlier, later):
    """Completed years from `earlier` to `later`: an age, or the years a policy has run."""
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))
