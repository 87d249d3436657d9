"""Request budgets shared by every process that calls one API, kept in PostgreSQL (any database
works; PostgreSQL makes it exact across machines). GCRA, the generic cell rate algorithm, with no
burst: a budget of N requests per period spaces them `period / N` apart. Each caller reserves the
next slot with one UPDATE ... RETURNING, so two workers never both take the same slot, and sleeps
until its slot comes. In any window of one period, at most N requests leave (a burst allowance
would let N go at once and then N - 1 more within the same period)."""

import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import RateBudget

PERIODS = {"second": 1, "minute": 60, "hour": 3600}


def budget_reserve(key, *, requests, per):
    """Reserve a slot in budget `key` (`requests` per `per`); returns the seconds to wait before sending."""
    period = PERIODS[per]
    interval = period / requests
    RateBudget.objects.get_or_create(key=key)
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The database's clock, so that the budget holds across machines whose clocks differ.
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE ingestion_ratebudget SET next_free = GREATEST(next_free, clock_timestamp()) "
                    "+ make_interval(secs => %s) WHERE key = %s "
                    "RETURNING next_free - make_interval(secs => %s), clock_timestamp()",
                    [interval, key, interval],
                )
                start, now = cursor.fetchone()
        else:
            budget = RateBudget.objects.select_for_update().get(key=key)
            start = max(budget.next_free, now)
            budget.next_free = start + timedelta(seconds=interval)
            budget.save(update_fields=["next_free"])
    return max(0.0, (start - now).total_seconds())


def budget_wait(key, *, requests, per, sleep=time.sleep):
    """Reserve a slot and wait for it; returns the seconds waited."""
    wait = budget_reserve(key, requests=requests, per=per)
    if wait > 0:
        sleep(wait)
    return wait
