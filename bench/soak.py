"""The soak: two gunicorn web servers and two huey consumers on Redis against one PostgreSQL, under a
Wompi webhook storm with health, readiness and metrics reads beside it, then the same again while one
web worker and one consumer are killed with SIGKILL mid-run (gunicorn starts a new worker; the soak, as a
process manager would, a new consumer).

    python -m bench soak [--events N] [--threads N] [--redis-db N]

Each phase posts signed Wompi APPROVED events for pending payments to both web servers from client
threads (a client whose server does not answer tries the other, as a balancer would; Wompi resends
until it gets a 200), waits for the consumers to apply them, and runs the periodic sweep once if work
was lost with a killed consumer (huey on Redis pops a task before running it). Then it checks the
invariants: every event stored once and applied once (one payment per approved transaction), every
payment's ledger entry equal to it, no task left queued, no 5xx. One JSON line; `invariant_violations` must be 0.

Not yet in it (issue #20 asks for them too): bordereau imports, bulk claim transitions, API reads and
writes by customers and report runs side by side with the storm.
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
from pathlib import Path

import psutil
import redis
import requests
from django.conf import settings
from django.db.models import Count, Sum
from huey import RedisHuey

from portal.accounts.demo import seed_demo_users
from portal.gateways.apply import webhook_events_process_pending
from portal.gateways.models import WebhookEvent
from portal.payments.models import LedgerEntry, Payment
from portal.policies.demo import seed_demo_policies
from tests.wompi_server import FakeWompi

from .common import emit, ensure_database
from .webhooks import _book, _pending_payments

ROOT = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_hex(16)
READS = (("/healthz", {}), ("/readyz", {}), ("/metrics", {"Authorization": f"Bearer {TOKEN}"}))


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
        for _ in range(2):
            self.workers.append(self._spawn([sys.executable, "manage.py", "run_huey", "--quiet"]))
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
        """SIGKILL a consumer; like a process manager, start a new one in its place a moment later."""
        victim = self.workers[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        time.sleep(1)
        self.workers[1] = self._spawn([sys.executable, "manage.py", "run_huey", "--quiet"])
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


def _storm(processes, deliveries, threads, *, kill_after=None):
    """Post every delivery to the web servers from `threads` threads; reads of /healthz, /readyz and
    /metrics go beside them. Returns (seconds, statuses, killed pids)."""
    bases = [base for base, _process in processes.web]
    work = list(enumerate(deliveries))
    lock = threading.Lock()
    statuses, killed = [], []
    posted = [0]

    def post(index, body, headers):
        for attempt in range(40):
            base = bases[(index + attempt) % len(bases)]
            try:
                response = requests.post(f"{base}/api/v1/webhooks/wompi/", data=body, headers=headers, timeout=30)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            with lock:
                statuses.append(response.status_code)
            if response.status_code == 200:
                return
            time.sleep(0.05)

    def run():
        session_reads = 0
        while True:
            with lock:
                if not work:
                    return
                index, (body, headers) = work.pop()
                posted[0] += 1
                due_kill = kill_after is not None and posted[0] == kill_after and not killed
                if due_kill:
                    killed.extend([processes.kill_one_web_worker(), processes.kill_one_consumer()])
            post(index, body, {**headers, "Content-Type": "application/json"})
            session_reads += 1
            if session_reads % 10 == 0:
                base = bases[index % len(bases)]
                for path, headers_read in (
                    ("/healthz", {}),
                    ("/readyz", {}),
                    ("/metrics", {"Authorization": f"Bearer {TOKEN}"}),
                ):
                    try:
                        response = requests.get(f"{base}{path}", headers=headers_read, timeout=30)
                    except requests.RequestException:
                        continue
                    with lock:
                        statuses.append(response.status_code)

    started = time.perf_counter()
    runners = [threading.Thread(target=run) for _ in range(threads)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    return time.perf_counter() - started, statuses, killed


def _drain(references, queue, timeout):
    """Wait until every event of the phase is applied and the queue is empty; True when it happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = WebhookEvent.objects.filter(reference__in=references, status=WebhookEvent.Status.RECEIVED).count()
        if waiting == 0 and queue.pending_count() == 0:
            return True
        time.sleep(0.5)
    return False


def _violations(attempts):
    references = [attempt.reference for attempt in attempts]
    problems = []
    events = WebhookEvent.objects.filter(reference__in=references)
    if events.count() != len(attempts):
        problems.append(f"{events.count()} events stored for {len(attempts)} deliveries")
    not_applied = events.exclude(status=WebhookEvent.Status.PROCESSED).count()
    if not_applied:
        problems.append(f"{not_applied} events not applied")
    payments = Payment.objects.filter(reference__in=references)
    twice = payments.values("reference").annotate(n=Count("pk")).filter(n__gt=1).count()
    if payments.count() != len(attempts) or twice:
        problems.append(f"{payments.count()} payments for {len(attempts)} approved transactions ({twice} twice)")
    for payment in payments:
        entries = LedgerEntry.objects.filter(payment=payment)
        total = entries.aggregate(total=Sum("amount"))["total"]
        if entries.count() != 1 or total is None or abs(total) != payment.amount:
            problems.append(
                f"payment {payment.reference}: ledger {entries.count()} entries, {total} for {payment.amount}"
            )
    return problems


def _phase(name, processes, customers, wompi, args, queue, *, kill):
    run = secrets.token_hex(3)
    attempts = _pending_payments(customers, args.events, run, wompi)
    deliveries = [wompi.event(attempt.wompi_id, timestamp=int(time.time())) for attempt in attempts]
    say(f"{name}: {len(deliveries)} events, {args.threads} client threads")
    seconds, statuses, killed = _storm(
        processes, deliveries, args.threads, kill_after=len(deliveries) // 2 if kill else None
    )
    references = [attempt.reference for attempt in attempts]
    drained = _drain(references, queue, timeout=300)
    swept = 0
    if not drained:
        # What a killed consumer had popped is lost from Redis; the periodic sweep applies it.
        swept = webhook_events_process_pending()
        drained = _drain(references, queue, timeout=60)
    apply_seconds = time.perf_counter()
    problems = _violations(attempts)
    if not drained:
        problems.append("the queue did not drain")
    server_errors = sum(1 for status in statuses if status >= 500)
    if server_errors:
        problems.append(f"{server_errors} responses were 5xx")
    return {
        "phase": name,
        "events": len(deliveries),
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(statuses) / seconds, 1),
        "events_per_s": round(len(deliveries) / seconds, 1),
        "errors_5xx": server_errors,
        "killed_pids": killed,
        "swept": swept,
        "violations": problems[:20],
        "invariant_violations": len(problems),
        "_checked_at": apply_seconds,
    }


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--events", type=int, default=400, help="webhook events per phase")
    parser.add_argument("--threads", type=int, default=6, help="client threads")
    parser.add_argument("--customers", type=int, default=50)
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
    customers = _book(args.customers)

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
    say("starting 2 web servers (gunicorn, 2 workers each) and 2 huey consumers on Redis")
    processes.start()
    try:
        steady = _phase("steady", processes, customers, wompi, args, queue, kill=False)
        killed = _phase("sigkill", processes, customers, wompi, args, queue, kill=True)
    finally:
        processes.stop()
        wompi.stop()
    phases = [steady, killed]
    for phase in phases:
        phase.pop("_checked_at")
    emit(
        {
            "benchmark": "soak",
            "web_servers": 2,
            "consumers": 2,
            "requests_per_s": steady["requests_per_s"],
            "events_per_s": steady["events_per_s"],
            "errors": sum(phase["errors_5xx"] for phase in phases),
            "phases": phases,
            "invariant_violations": sum(phase["invariant_violations"] for phase in phases),
        }
    )
