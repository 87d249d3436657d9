"""The customers' API under load: gunicorn (2 workers) on PostgreSQL, against the DRF tutorial's
naive ModelViewSet on the same data, in the same run.

    python -m bench api [--seconds N] [--threads N] [--policies N]

Builds (once; reruns reuse it) a customer signed in to the app with `--policies` policies paid
monthly, issued through the real services, so their ledger holds a premium entry per instalment (600
for 50 policies). Starts gunicorn with 2 sync workers serving the app and, beside it, the peer
(bench.api_peer: `fields = "__all__"`, `depth = 1`, no select_related). Threads then GET, each over its
own keep-alive connection with the customer's bearer token, for `--seconds` per endpoint:

- the policy list (every policy on one page: `?page_size=` the number of policies),
- one policy's detail.

Per endpoint and side: requests per second, p50 and p99 latency as the client sees it, and the SQL
queries per request (counted in process, at a page of 10 and a page of all: ours stays constant, the
peer grows with the rows). `ratio` is ours over the peer in requests per second.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from api.tokens import token_pair_for
from portal.accounts.demo import seed_demo_users
from portal.accounts.models import Role, User
from portal.customers.models import Customer
from portal.customers.services import customer_create, customer_link_app_account
from portal.payments.models import LedgerEntry
from portal.policies.demo import seed_demo_policies
from portal.policies.models import PaymentFrequency, Policy, Product
from portal.policies.services import policy_issue, quote_accept, quote_create

from .common import emit, ensure_database

CUSTOMER_EMAIL = "cliente-api@api.bench"
ENDPOINTS = ("policy_list", "policy_detail")


def say(message):
    print(f"[bench api] {message}", file=sys.stderr, flush=True)


def _customer_with_policies(count):
    agent = User.objects.get(email_primary="agent@amparo.demo")
    user = User.objects.filter(email_primary=CUSTOMER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            email_primary=CUSTOMER_EMAIL,
            password=None,
            full_name="Cliente de la API",
            id_type="CC",
            id_number="8800000001",
            role=Role.CLIENT,
        )
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        customer = customer_create(
            actor=agent,
            agent=agent,
            full_name="Cliente de la API",
            id_type="CC",
            id_number="8800000001",
            email_primary=CUSTOMER_EMAIL,
            birth_date=timezone.localdate().replace(year=1985),
        )
        customer_link_app_account(customer=customer, user=user, actor=agent)
    product = Product.objects.get(code="AUTO")
    codes = list(product.coverages.values_list("code", flat=True))
    for number in range(Policy.objects.filter(customer=customer).count(), count):
        quote = quote_create(
            actor=agent,
            customer=customer,
            product=product,
            start_date=timezone.localdate(),
            sum_insured=product.min_sum_insured + Decimal(1_000_000 * number),
            coverage_codes=codes,
            payment_frequency=PaymentFrequency.MONTHLY,
        )
        policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
    return user, customer


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(port):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        "AMPARO_API_ACCESS_TOKEN_MINUTES": os.environ["AMPARO_API_ACCESS_TOKEN_MINUTES"],
    }
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--workers", "2"]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--access-logfile", "/dev/null"]
    return subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter and arguments


def _get(connection_, path, token):
    connection_.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    response = connection_.getresponse()
    response.read()
    return response.status


def _wait_until_serving(port, token, server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            if _get(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/api/v1/policies/", token) == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


def _load(port, path, token, *, seconds, threads):
    """Requests per second and latency percentiles of GET `path` from `threads` keep-alive clients."""
    latencies, failures = [], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        own, conn = [], http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status = _get(conn, path, token)
            own.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(status)
        with lock:
            latencies.extend(own)

    started = time.monotonic()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    if failures:
        raise SystemExit(f"{path}: {len(failures)} answers were not 200 (first {failures[0]})")
    latencies.sort()
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 2),
    }


def _queries(path, token):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with override_settings(ROOT_URLCONF="bench.api_peer"), CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200, path
    return len(queries)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench api")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--policies", type=int, default=50)
    args = parser.parse_args(argv)
    os.environ.setdefault("AMPARO_API_ACCESS_TOKEN_MINUTES", "60")

    ensure_database()
    seed_demo_users()
    seed_demo_policies()
    say(f"building a customer with {args.policies} policies (once)")
    user, customer = _customer_with_policies(args.policies)
    ledger_entries = LedgerEntry.objects.filter(account__customer=customer).count()
    token = token_pair_for(user)["access"]
    policy = Policy.objects.filter(customer=customer).order_by("-created_at", "-id").first()
    paths = {
        "ours": {
            "policy_list": f"/api/v1/policies/?page_size={args.policies}",
            "policy_detail": f"/api/v1/policies/{policy.pk}/",
        },
        "naive": {
            "policy_list": f"/naive/policies/?page_size={args.policies}",
            "policy_detail": f"/naive/policies/{policy.pk}/",
        },
    }
    result = {"bench": "api", "policies": args.policies, "ledger_entries": ledger_entries, "gunicorn_workers": 2}
    result.update({"threads": args.threads, "seconds_per_endpoint": args.seconds})
    for side, side_paths in paths.items():
        list_path = side_paths["policy_list"].split("?")[0]
        result[side] = {
            "queries": {
                "policy_list_page_of_10": _queries(f"{list_path}?page_size=10", token),
                f"policy_list_page_of_{args.policies}": _queries(side_paths["policy_list"], token),
                "policy_detail": _queries(side_paths["policy_detail"], token),
            }
        }
    connection.close()

    port = _free_port()
    server = _start_gunicorn(port)
    try:
        _wait_until_serving(port, token, server)
        for side_paths in paths.values():
            for endpoint in ENDPOINTS:
                _load(port, side_paths[endpoint], token, seconds=1, threads=args.threads)
        for endpoint in ENDPOINTS:
            for side, side_paths in paths.items():
                say(f"{side} {endpoint}: {args.seconds}s")
                result[side][endpoint] = _load(
                    port, side_paths[endpoint], token, seconds=args.seconds, threads=args.threads
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["ratio"] = {
        endpoint: round(result["ours"][endpoint]["req_per_s"] / result["naive"][endpoint]["req_per_s"], 2)
        for endpoint in ENDPOINTS
    }
    emit(result)
