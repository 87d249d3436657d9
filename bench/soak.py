"""The soak: two gunicorn web servers and two huey consumers on Redis against one PostgreSQL, under
everything the platform does at once, then the same again while one web worker and one consumer are
killed with SIGKILL mid-run (gunicorn starts a new worker; the soak, as a process manager would, a new
consumer). As the Procfile says, one consumer is the scheduler (it queues the periodic tasks) and the
other runs with --no-periodic; the one killed is the latter.

    python -m bench soak [--seconds N] [--customers N] [--claims N] [--events N] [--import-rows N]

Each phase runs for `--seconds` (default 60) side by side:
- customers on the mobile API (minted JWTs), one thread each of `--api-threads`: their policies, claims,
  payments and account, and claims filed with an Idempotency-Key, one in two sent twice;
- a supervisor in two browser sessions on the portal's bulk bar putting `--claims` pending claims under
  review, every chunk clicked in both (small chunks run in the request, large ones in a worker);
- an administrator uploading risk bordereaux of `--import-rows` rows through the portal, imported by
  the workers (at most two waiting at a time);
- finance requesting the collections report through the staff API, waiting for each file and
  checking its checksum;
- a Wompi storm of signed APPROVED events (up to `--events`; Wompi resends until it gets a 200);
- health, readiness and metrics reads.
A client whose server does not answer tries the other, as a balancer would. After the deadline the
soak waits (bounded) for the workers to finish what was queued; in the SIGKILL phase what the killed
consumer had popped from Redis is lost from the queue, and the product's own sweeps, queued by the
scheduler consumer, find it again (the soak runs with AMPARO_WORKER_SILENCE_SECONDS=30, see
soak_settings): `recovered_by_sweep` counts their audit events by kind and by the state the work was
found in. The soak itself finishes nothing. Then the invariants: every webhook event stored and applied once (one
payment and one ledger entry of its amount each), every account's balance as the API answers it equal
to the sum of its entries, one claim per Idempotency-Key and the retry answered the same, each claim
put under review once (transitions = bulk results done = claims asked), every import succeeded with
its rows stored, every report run succeeded, the queue empty, no 5xx. One JSON line;
`invariant_violations` must be 0.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import psutil
import redis
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone
from huey import RedisHuey

from portal.accounts.demo import seed_demo_users
from portal.policies.demo import seed_demo_policies
from tests.wompi_server import FakeWompi

from . import soak_checks as checks
from . import soak_load as load
from .common import emit, ensure_database
from .webhooks import _book, _pending_payments

ROOT = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_hex(16)
SCHEDULER = [sys.executable, "manage.py", "run_huey", "--quiet"]
WORKER = [*SCHEDULER, "--no-periodic"]
# The longest the soak waits with nothing moving: the webhook sweep runs every 5 minutes for events
# older than 2, the other sweeps every minute after AMPARO_WORKER_SILENCE_SECONDS.
RECOVERY_WAIT_SECONDS = 450


def say(message):
    print(f"[bench soak] {message}", file=sys.stderr, flush=True)


def _free_port():
    import socket  # only here: the ports of the two web servers

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    def __init__(self, env):
        self.env = env
        self.web = []
        self.workers = []

    def start(self):
        for _ in range(2):
            port = _free_port()
            command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "python:portal.gunicorn_conf",
                       "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"]  # fmt: skip
            self.web.append((f"http://127.0.0.1:{port}", self._spawn(command)))
        self.workers.append(self._spawn(SCHEDULER))
        self.workers.append(self._spawn(WORKER))
        for base, _process in self.web:
            self._wait(base)

    def _spawn(self, command):
        return subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait(self, base):
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{base} did not start")

    def kill_one_web_worker(self):
        master = psutil.Process(self.web[1][1].pid)
        victim = master.children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        return victim.pid

    def kill_one_consumer(self):
        """SIGKILL the consumer without the scheduler; like a process manager, start a new one in its place
        a moment later."""
        victim = self.workers[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        time.sleep(1)
        self.workers[1] = self._spawn(WORKER)
        return victim.pid

    def stop(self):
        for process in [process for _base, process in self.web] + self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [process for _base, process in self.web] + self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


class Book:
    """What the clients act on, built once before the phases."""

    def __init__(self, args):
        self.customers = _book(args.customers)
        self.source_id = checks.import_source().pk
        self.sign_in()

    def sign_in(self):
        """Fresh tokens for the phase: an access token lives 5 minutes, about what a phase and its wait take."""
        self.app = checks.app_tokens(self.customers)
        self.finance = checks.staff_token("finance@amparo.demo")


def _clients(phase, processes, book, args, queue_deliveries, stats, run):
    bases = [base for base, _process in processes.web]
    today = timezone.localdate().isoformat()
    claim_ids = checks.claims_to_review(book.customers, args.claims, run)
    chunks = checks.bulk_chunks(claim_ids)
    supervisors = [load.Http(bases, stats, "portal", offset=n).sign_in("supervisor@amparo.demo") for n in range(2)]
    admin = load.Http(bases, stats, "portal").sign_in("admin@amparo.demo")
    phase.deadline = time.monotonic() + args.seconds  # the deadline counts from when the clients start
    threads = [
        threading.Thread(target=load.bulk_transitions, args=(phase, supervisors[0], chunks)),
        threading.Thread(target=load.bulk_transitions, args=(phase, supervisors[1], chunks[::-1])),
        threading.Thread(target=load.bordereau_imports, args=(phase, admin, book.source_id, run, args.import_rows)),
        threading.Thread(
            target=load.report_runs,
            args=(phase, load.Http(bases, stats, "staff_api", headers=_bearer(book.finance)), timezone.now().year),
        ),
        threading.Thread(target=load.reads, args=(phase, load.Http(bases, stats, "probes"), TOKEN)),
    ]
    for number in range(args.api_threads):
        token, policy_id = book.app[number % len(book.app)]
        http = load.Http(bases, stats, "customer_api", offset=number, headers=_bearer(token))
        threads.append(threading.Thread(target=load.customer_api, args=(phase, http, policy_id, today, number)))
    for number in range(args.webhook_threads):
        http = load.Http(bases, stats, "webhooks", offset=number)
        threads.append(threading.Thread(target=load.webhook_storm, args=(phase, http, queue_deliveries)))
    return threads


def _bearer(token):
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _balances(processes, book, stats):
    """Each customer's balance as the API answers it (one account each, in pesos)."""
    bases = [base for base, _process in processes.web]
    answers = {}
    for (token, _policy), customer in zip(book.app, book.customers, strict=True):
        response = load.Http(bases, stats, "customer_api", headers=_bearer(token)).send("GET", "/api/v1/account/")
        if response.status_code != 200:
            answers[customer.user_id] = f"answered {response.status_code}"
            continue
        answers[customer.user_id] = sum(Decimal(balance["balance"]) for balance in response.json()["balances"])
    return answers


def _phase(name, processes, book, wompi, args, queue, *, kill):
    run = secrets.token_hex(3)
    book.sign_in()
    attempts = _pending_payments(book.customers, args.events, run, wompi)
    deliveries = [
        (index, wompi.event(attempt.wompi_id, timestamp=int(time.time()))) for index, attempt in enumerate(attempts)
    ]
    deliveries.reverse()  # the clients pop from the end: the first ones go first
    stats = load.Stats()
    phase = load.Phase(deadline=time.monotonic() + args.seconds)
    threads = _clients(phase, processes, book, args, deliveries, stats, run)
    say(f"{name}: {len(threads)} clients for {args.seconds}s")
    killed = []
    since = timezone.now()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    if kill:
        time.sleep(args.seconds / 2)
        killed = [processes.kill_one_web_worker(), processes.kill_one_consumer()]
        say(f"{name}: killed web worker {killed[0]} and consumer {killed[1]}")
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    posted = sorted(set(range(len(attempts))) - {index for index, _delivery in deliveries})
    references = [attempts[index].reference for index in posted]
    say(f"{name}: clients done in {seconds:.0f}s; waiting for the workers")
    drained_in = time.perf_counter()
    drained = checks.drain(phase, references, queue, timeout=RECOVERY_WAIT_SECONDS if kill else 180)
    drained_in = round(time.perf_counter() - drained_in, 1)
    recovered = checks.recovered_by_sweep(since)
    problems = checks.phase_problems(phase, attempts, posted)
    book.sign_in()  # the wait for the workers can outlast the phase's tokens
    problems += checks.ledger_problems(book.customers, _balances(processes, book, stats))
    if queue.pending_count():
        problems.append(f"{queue.pending_count()} tasks still queued")
    server_errors = stats.server_errors()
    if server_errors:
        problems.append(f"5xx responses: {server_errors}")
    figures = checks.phase_figures(phase, seconds)
    return {
        "phase": name,
        "seconds": round(seconds, 1),
        "requests": stats.count(),
        "requests_per_s": round(stats.count() / seconds, 1),
        "events": len(posted),
        "events_per_s": round(len(posted) / seconds, 1),
        **figures,
        "errors_5xx": sum(server_errors.values()),
        "killed_pids": killed,
        "drained": drained,
        "drain_seconds": drained_in,
        "recovered_by_sweep": recovered,
        "violations": problems[:20],
        "invariant_violations": len(problems),
    }


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--seconds", type=int, default=60, help="how long the clients run in each phase")
    parser.add_argument("--events", type=int, default=600, help="webhook events ready per phase (at most)")
    parser.add_argument("--customers", type=int, default=40, help="customers of the book (the API's users)")
    parser.add_argument("--api-threads", type=int, default=8, help="customers on the API at once")
    parser.add_argument("--webhook-threads", type=int, default=3)
    parser.add_argument("--claims", type=int, default=300, help="pending claims for the bulk moves per phase")
    parser.add_argument("--import-rows", type=int, default=2000, help="rows per bordereau file")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database for the soak's queue and cache")
    args = parser.parse_args(argv)

    ensure_database()
    wompi = FakeWompi().start()
    wompi_settings = wompi.settings()
    for name, value in wompi_settings.items():
        setattr(settings, name, value)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    queue = RedisHuey("amparo-soak", url=redis_url)
    say("building the book")
    seed_demo_users()
    seed_demo_policies()
    book = Book(args)

    metrics_dir = Path(tempfile.mkdtemp(prefix="amparo-soak-metrics-"))
    database = settings.DATABASES["default"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "WOMPI_"))},
        "DJANGO_SETTINGS_MODULE": "bench.soak_settings",
        "BENCH_DATABASE_URL": (
            f"postgresql://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "HUEY_URL": redis_url,
        "REDIS_URL": redis_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "AMPARO_METRICS_TOKEN": TOKEN,
        **{name: str(value) for name, value in wompi_settings.items()},
    }
    processes = Processes(env)
    say("starting 2 web servers (gunicorn, 2 workers each) and 2 huey consumers on Redis (one the scheduler)")
    processes.start()
    started = time.perf_counter()
    try:
        steady = _phase("steady", processes, book, wompi, args, queue, kill=False)
        killed = _phase("sigkill", processes, book, wompi, args, queue, kill=True)
    finally:
        processes.stop()
        wompi.stop()
        connection.close()
    phases = [steady, killed]
    emit(
        {
            "benchmark": "soak",
            "web_servers": 2,
            "consumers": 2,
            "seconds_per_phase": args.seconds,
            "total_seconds": round(time.perf_counter() - started, 1),
            "requests_per_s": steady["requests_per_s"],
            "events_per_s": steady["events_per_s"],
            "rows_per_s": steady["rows_per_s"],
            "reports_done": sum(phase["reports_done"] for phase in phases),
            "claim_transitions": sum(phase["claim_transitions"] for phase in phases),
            "errors": sum(phase["errors_5xx"] for phase in phases),
            "phases": phases,
            "invariant_violations": sum(phase["invariant_violations"] for phase in phases),
        }
    )
