"""Claims work queue vs Django admin's changelist on the same 1,000,000 claims, and a bulk move of 10,000.

    python -m bench claims [--rows N] [--repeat N] [--bulk N]

The data comes from the bulk seeders `seed_demo --scale` uses (claims with their whole transition
history, on volume policies, four claims a policy at most). Ours is the supervisor's default queue
(claims under review, oldest first) for the supervisor (two agents' books) and for an administrator
(every claim); the admin changelist shows the administrator the same filter in the same order.

The bulk figure is one supervisor putting `--bulk` pending claims under review through the bulk
services, chunk by chunk with their transition, audit and result rows, timed end to end. It runs
inside a transaction that is rolled back afterwards (each chunk commits to a savepoint instead of
the database), so every run of the benchmark finds the same data.
"""

import argparse
import statistics
import time

from django.db import connection, transaction
from django.test import Client

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.claims.bulk import bulk_transition_run, bulk_transition_start
from portal.claims.demo import seed_demo_claims, seed_scale_claims
from portal.claims.models import Claim, ClaimTransition
from portal.claims.selectors import claims_visible_to
from portal.payments.demo import pay_out_claim
from portal.policies.demo import seed_demo_policies

from .common import emit, ensure_database, time_requests

QUEUE = "/claims/?sort=created_at&status=UNDER_REVIEW"
# The same filter and order in the stock changelist: "o=8" sorts by list_display's 8th column, created_at.
CHANGELIST = "/admin/claims/claim/?o=8&status__exact=UNDER_REVIEW"


class Rollback(Exception):
    pass


def time_bulk(actor, size, *, repeat):
    """Seconds to put `size` of the actor's pending claims under review, median of `repeat` rolled-back runs."""
    claim_ids = list(
        claims_visible_to(actor)
        .filter(status=Claim.Status.PENDING)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:size]
    )
    assert len(claim_ids) == size, f"only {len(claim_ids)} pending claims in the supervisor's scope"
    samples = []
    for _ in range(repeat):
        try:
            with transaction.atomic():
                started = time.perf_counter()
                job = bulk_transition_start(actor=actor, action="start_review", claim_ids=claim_ids)
                job = bulk_transition_run(job=job)
                samples.append(time.perf_counter() - started)
                assert job.applied == size, (job.applied, job.refused)
                assert ClaimTransition.objects.filter(claim_id__in=claim_ids[:1], action="start_review").exists()
                raise Rollback
        except Rollback:
            pass
    return round(statistics.median(samples), 2)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench claims")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--bulk-repeat", type=int, default=3)
    args = parser.parse_args(argv)

    ensure_database()
    seed_demo_users()
    seed_demo_policies()
    seed_demo_claims(pay_out=pay_out_claim)
    started = time.perf_counter()
    created = seed_scale_claims(args.rows)
    build_seconds = round(time.perf_counter() - started, 1) if created else None
    if created:
        with connection.cursor() as cursor:
            for table in ("customers_customer", "policies_policy", "claims_claim", "claims_claimtransition"):
                cursor.execute(f"ANALYZE {table}")

    clients = {}
    for email in ("supervisor@amparo.demo", "admin@amparo.demo"):
        clients[email] = Client()
        clients[email].force_login(User.objects.get(email_primary=email))
    supervisor = time_requests(clients["supervisor@amparo.demo"], QUEUE, repeat=args.repeat)
    ours = time_requests(clients["admin@amparo.demo"], QUEUE, repeat=args.repeat)
    peer = time_requests(clients["admin@amparo.demo"], CHANGELIST, repeat=args.repeat)
    bulk_seconds = time_bulk(
        User.objects.get(email_primary="supervisor@amparo.demo"), args.bulk, repeat=args.bulk_repeat
    )
    emit(
        {
            "benchmark": "claims_work_queue_first_page",
            "rows": Claim.objects.count(),
            "under_review": Claim.objects.filter(status=Claim.Status.UNDER_REVIEW).count(),
            "build_s": build_seconds,
            "p50_ms": ours["p50_ms"],
            "p95_ms": ours["p95_ms"],
            "queries": ours["queries"],
            "supervisor_p50_ms": supervisor["p50_ms"],
            "supervisor_queries": supervisor["queries"],
            "admin_p50_ms": peer["p50_ms"],
            "admin_p95_ms": peer["p95_ms"],
            "admin_queries": peer["queries"],
            "ratio": round(peer["p50_ms"] / ours["p50_ms"], 2),
            "bulk_rows": args.bulk,
            "bulk_10k_s": bulk_seconds,
        }
    )
