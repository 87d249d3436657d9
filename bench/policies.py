"""Policy list page vs Django admin's changelist on the same 1,000,000 policies.

    python -m bench policies [--rows N] [--repeat N]

The data comes from `seed_demo --scale N` (the bulk seeder the demo uses). Ours is measured
for an agent (their book: a third of the policies), a supervisor (two agents' books) and an
administrator filtering active policies; the admin changelist shows the same filter. The
administrator's renewal queue, customer list and dashboard are timed too, without a peer.
"""

import argparse
import time

from django.db import connection
from django.test import Client

from portal.accounts.demo import seed_demo_users
from portal.accounts.models import User
from portal.policies.demo import seed_demo_policies, seed_scale_policies
from portal.policies.models import Policy

from .common import emit, ensure_database, time_requests


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench policies")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    ensure_database()
    seed_demo_users()
    seed_demo_policies()
    started = time.perf_counter()
    created = seed_scale_policies(args.rows)
    build_seconds = round(time.perf_counter() - started, 1) if created else None
    if created:
        with connection.cursor() as cursor:
            for table in ("customers_customer", "policies_policy", "policies_policyversion"):
                cursor.execute(f"ANALYZE {table}")

    clients = {}
    for email in ("agent@amparo.demo", "supervisor@amparo.demo", "admin@amparo.demo"):
        clients[email] = Client()
        clients[email].force_login(User.objects.get(email_primary=email))
    agent = time_requests(clients["agent@amparo.demo"], "/policies/", repeat=args.repeat)
    supervisor = time_requests(clients["supervisor@amparo.demo"], "/policies/", repeat=args.repeat)
    ours = time_requests(clients["admin@amparo.demo"], "/policies/?status=ACTIVE", repeat=args.repeat)
    peer = time_requests(
        clients["admin@amparo.demo"], "/admin/policies/policy/?status__exact=ACTIVE", repeat=args.repeat
    )
    # The other pages that read the whole book: no peer, figures to watch.
    renewals = time_requests(clients["admin@amparo.demo"], "/renewals/", repeat=args.repeat)
    customers = time_requests(clients["admin@amparo.demo"], "/customers/", repeat=args.repeat)
    dashboard = time_requests(clients["admin@amparo.demo"], "/dashboard/", repeat=args.repeat)
    emit(
        {
            "benchmark": "policy_list_first_page",
            "rows": Policy.objects.count(),
            "build_s": build_seconds,
            "p50_ms": ours["p50_ms"],
            "p95_ms": ours["p95_ms"],
            "queries": ours["queries"],
            "agent_p50_ms": agent["p50_ms"],
            "supervisor_p50_ms": supervisor["p50_ms"],
            "admin_p50_ms": peer["p50_ms"],
            "admin_p95_ms": peer["p95_ms"],
            "admin_queries": peer["queries"],
            "ratio": round(peer["p50_ms"] / ours["p50_ms"], 2),
            "renewal_queue_p50_ms": renewals["p50_ms"],
            "customer_list_p50_ms": customers["p50_ms"],
            "dashboard_p50_ms": dashboard["p50_ms"],
        }
    )
