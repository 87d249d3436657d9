"""Loans queue vs Django admin's changelist on the same 1,000,000 loans, and 20 threads racing to start one
loan's first task.

    python -m bench loans [--rows N] [--repeat N] [--threads N]

The loans are written with COPY (spread over the demo customers, applied at one a minute back from
now), on top of the demo loans, as a bulk load: see `seed_scale_loans`. Ours is the queue's "new loans,
newest first" for an administrator (every loan); the admin changelist shows the same filter in the
same order. `role_default_p50_ms` is the queue an administrator opens on (loans waiting for an
approval), which reads the few loans being worked through their partial index. The race is
`--threads` real threads with a connection each, released together on one NEW loan: one starts its
KYC task, the others are refused with a conflict; the figure is the time from release until every
thread has its answer.
"""

import argparse
import threading
import time
from datetime import timedelta
from itertools import islice

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.claims.demo import seed_demo_claims
from portal.core.exceptions import Conflict
from portal.customers.models import Customer
from portal.loans.demo import seed_demo_loans
from portal.loans.models import Loan, LoanProduct, LoanTask
from portal.loans.services import loan_apply, loan_task_start
from portal.payments.demo import pay_out_claim
from portal.policies.demo import seed_demo_policies
from portal.policies.models import Policy

from .common import emit, ensure_database, time_requests

QUEUE = "/loans/?status=NEW&sort=-applied_at"
# What an administrator's queue opens on (views.ROLE_DEFAULTS): the loans waiting for an approval.
ROLE_DEFAULT_QUEUE = "/loans/?status=OPEN&task=APPROVAL&sort=applied_at"
# The same filter and order in the stock changelist: "o=-8" sorts by list_display's 8th column, applied_at.
CHANGELIST = "/admin/loans/loan/?o=-8&status__exact=NEW"


COLUMNS = (
    "number, product_id, customer_id, currency, principal, tenure_months, annual_rate_pct, fee_amount, "
    "instalment_amount, status, account_state, arrears_bucket, applied_by_id, applied_at, status_changed_at, "
    "credit_balance"
)
COPY_CHUNK = 50_000


def _secondary_indexes(cursor):
    """(name, CREATE INDEX statement) of the loans table's indexes that back no constraint."""
    cursor.execute(
        """
        SELECT ix.relname, pg_get_indexdef(pg_index.indexrelid)
        FROM pg_index JOIN pg_class ix ON ix.oid = pg_index.indexrelid
        WHERE pg_index.indrelid = 'loans_loan'::regclass AND NOT pg_index.indisunique AND NOT pg_index.indisprimary
        """
    )
    return cursor.fetchall()


def _copy_lines(first, last, *, product, customers, applicant, now):
    for n in range(first, last + 1):
        applied = (now - timedelta(minutes=n)).isoformat()
        yield (
            f"BEN-{n:08d}\t{product}\t{customers[n % len(customers)]}\tCOP\t{1_000_000 + (n % 50) * 100_000}\t12\t"
            f"18.5\t0\t100000\tNEW\t\tCURRENT\t{applicant}\t{applied}\t{applied}\t0\n"
        )


def seed_scale_loans(rows):
    """Top the loans table up to `rows` bulk loans with COPY; returns how many were written.

    As pg_restore does a bulk load: in one transaction, the indexes that back no constraint are dropped
    and built again after the rows are in (one sorted build each instead of a million insertions), and
    triggers are off for the load (`session_replication_role = replica`): the foreign keys point at rows
    read just before, and the loans' current-task trigger has nothing to check on loans with no task.
    The unique indexes (number, task pointer) stay and check every row."""
    existing = Loan.objects.filter(number__startswith="BEN-").count()
    if existing >= rows:
        return 0
    product = LoanProduct.objects.get(code="PRESTAMO-POLIZA").pk
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:50])
    applicant = User.objects.get(email_primary="agent@amparo.demo").pk
    now = timezone.now()
    lines = _copy_lines(existing + 1, rows, product=product, customers=customers, applicant=applicant, now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        indexes = _secondary_indexes(cursor)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        with cursor.copy(f"COPY loans_loan ({COLUMNS}) FROM STDIN") as copy:
            while chunk := "".join(islice(lines, COPY_CHUNK)):
                copy.write(chunk)
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE loans_loan")
    return rows - existing


def race(threads):
    """Seconds until `threads` people starting one new loan's first task all have their answer, and the tally."""
    policy = Policy.objects.filter(status=Policy.Status.ACTIVE).select_related("customer__agent").first()
    product = LoanProduct.objects.get(code="FINANCIA-PRIMA")
    loan = loan_apply(
        product=product,
        customer=policy.customer,
        policy=policy,
        actor=policy.customer.agent,
        amount="1000000",
        tenure_months=6,
    )
    agent = policy.customer.agent
    barrier = threading.Barrier(threads + 1)
    outcomes, lock = [], threading.Lock()

    def start():
        barrier.wait()
        try:
            loan_task_start(loan=loan, actor=agent)
            outcome = "won"
        except Conflict:
            outcome = "conflict"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=start) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    settled = time.perf_counter() - started
    assert LoanTask.objects.filter(loan=loan).count() == 1
    return round(settled * 1000, 1), outcomes.count("won"), outcomes.count("conflict")


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench loans")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=20)
    args = parser.parse_args(argv)

    ensure_database()
    seed_demo_users()
    seed_demo_policies()
    seed_demo_claims(pay_out=pay_out_claim)
    seed_demo_loans()
    started = time.perf_counter()
    created = seed_scale_loans(args.rows)
    build_seconds = round(time.perf_counter() - started, 1) if created else None

    client = Client()
    client.force_login(User.objects.get(email_primary="admin@amparo.demo"))
    ours = time_requests(client, QUEUE, repeat=args.repeat)
    peer = time_requests(client, CHANGELIST, repeat=args.repeat)
    default = time_requests(client, ROLE_DEFAULT_QUEUE, repeat=args.repeat)
    settle_ms, winners, conflicts = race(args.threads)
    emit(
        {
            "benchmark": "loans_queue_first_page",
            "rows": Loan.objects.count(),
            "build_s": build_seconds,
            "p50_ms": ours["p50_ms"],
            "p95_ms": ours["p95_ms"],
            "queries": ours["queries"],
            "admin_p50_ms": peer["p50_ms"],
            "admin_p95_ms": peer["p95_ms"],
            "admin_queries": peer["queries"],
            "ratio": round(peer["p50_ms"] / ours["p50_ms"], 2),
            "role_default_p50_ms": default["p50_ms"],
            "role_default_queries": default["queries"],
            "race_threads": args.threads,
            "race_winners": winners,
            "race_conflicts": conflicts,
            "race_settle_ms": settle_ms,
        }
    )
