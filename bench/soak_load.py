"""The soak's clients: what each kind of user sends to the two web servers, side by side, until the
phase's deadline. Every response's status is counted; a client whose server does not answer tries
the other one, as a balancer would."""

import csv
import io
import itertools
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from django.db import connection

from portal.ingestion.models import ImportJob

from .ingestion_api import CSV_HEADER, record

PASSWORD = "Amparo-demo-2026!"  # noqa: S105 - the demo users' published password
REPORT = "collections"
IMPORT_PERIOD = "2026-10"


class Stats:
    """Statuses by workload, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {}

    def add(self, kind, status):
        with self.lock:
            self.statuses.setdefault(kind, []).append(status)

    def count(self, kind=None):
        with self.lock:
            return sum(len(v) for k, v in self.statuses.items() if kind is None or k == kind)

    def server_errors(self):
        with self.lock:
            return {k: sum(1 for s in v if s >= 500) for k, v in self.statuses.items() if any(s >= 500 for s in v)}


class Http:
    """One client's session over both web servers: on a refused or broken connection (a killed web
    worker) it tries the next server, as a balancer would."""

    def __init__(self, bases, stats, kind, *, offset=0, headers=None):
        self.bases = bases
        self.stats = stats
        self.kind = kind
        self.turn = itertools.count(offset)
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def send(self, method, path, *, attempts=20, **kwargs):
        for _ in range(attempts):
            base = self.bases[next(self.turn) % len(self.bases)]
            try:
                response = self.session.request(method, f"{base}{path}", timeout=60, allow_redirects=False, **kwargs)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            self.stats.add(self.kind, response.status_code)
            return response
        raise RuntimeError(f"{method} {path}: no web server answered")

    def sign_in(self, email):
        """The portal's sign-in form, as a browser sends it."""
        self.send("GET", "/accounts/login/")
        response = self.send(
            "POST",
            "/accounts/login/",
            data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
        )
        if response.status_code != 302:
            raise RuntimeError(f"{email} could not sign in: {response.status_code}")
        return self

    def post_form(self, path, data, files=None):
        headers = {"X-CSRFToken": self.session.cookies["csrftoken"]}
        return self.send("POST", path, data=data, files=files, headers=headers)


@dataclass
class Phase:
    """What the clients did in one phase, for the checks afterwards."""

    deadline: float
    claim_keys: dict = field(default_factory=dict)  # Idempotency-Key -> claim id answered
    replays_wrong: list = field(default_factory=list)
    bulk_claim_ids: set = field(default_factory=set)
    bulk_jobs: set = field(default_factory=set)
    import_rows: dict = field(default_factory=dict)  # file name -> rows written
    report_runs: set = field(default_factory=set)
    report_checksums_wrong: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def running(self):
        return time.monotonic() < self.deadline


def customer_api(phase, http, policy_id, today, number):
    """A customer reading their policies, claims, payments and account, and now and then filing a
    claim with an Idempotency-Key, sometimes sent twice (a retry after a lost answer)."""
    for turn in itertools.count():
        if not phase.running():
            return
        for path in ("/api/v1/policies/", "/api/v1/claims/", "/api/v1/payments/", "/api/v1/account/"):
            status = http.send("GET", path).status_code
            if status != 200:
                with phase.lock:
                    phase.failures.append(f"GET {path} answered {status}")
        if turn % 3:
            continue
        key = str(uuid.uuid4())
        body = {
            "policy": policy_id,
            "coverage_code": "PT",
            "loss_date": today,
            "claimed_amount": "120000.00",
            "description": f"Soak {number}: golpe en parqueadero ({key})",
        }
        first = http.send("POST", "/api/v1/claims/", json=body, headers={"Idempotency-Key": key})
        if first.status_code != 201:
            with phase.lock:
                phase.failures.append(f"claim filing answered {first.status_code}")
            continue
        with phase.lock:
            phase.claim_keys[key] = first.json()["id"]
        if turn % 2 == 0:
            again = http.send("POST", "/api/v1/claims/", json=body, headers={"Idempotency-Key": key})
            if again.status_code != 201 or again.json()["id"] != first.json()["id"]:
                with phase.lock:
                    phase.replays_wrong.append(key)


def bulk_transitions(phase, http, chunks):
    """A supervisor putting claims under review from the work queue's bulk bar, chunk by chunk. The
    same supervisor works in two browser sessions (this thread and another, the chunks in the other
    order), so each claim is asked twice; the small chunks run in the request, the large ones in a worker."""
    for chunk in chunks:
        if not phase.running():
            return
        response = http.post_form(
            "/claims/bulk/", {"action": "start_review", "claim": chunk, "confirmed": "True", "note": "Soak"}
        )
        found = re.search(r"/claims/bulk/([0-9a-f-]{36})/", response.headers.get("Location", ""))
        with phase.lock:
            if found:
                phase.bulk_jobs.add(found.group(1))
                phase.bulk_claim_ids.update(chunk)
            else:
                phase.failures.append(f"bulk action answered {response.status_code}")


def bordereau_csv(run, number, rows):
    """A risk bordereau of `rows` rows of its own (the certificate refs make every file unique)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for index in range(rows):
        r = record(number * rows + index)
        writer.writerow(
            [r["umr"], f"S{run}-{number:04d}-{index:06d}", r["insured"]["name"], r["inceptionDate"],
             r["expiryDate"], r["riskCountry"], r["currency"], f"{r['sumInsured']:.2f}", f"{r['grossPremium']:.2f}",
             r["commissionPct"], r["totalTaxes"], f"{r['netPremium']:.2f}", r["classOfBusiness"],
             r["transactionType"]]
        )  # fmt: skip
    return out.getvalue().encode()


def bordereau_imports(phase, http, source_id, run, rows, *, outstanding=2):
    """An administrator uploading risk bordereaux through the portal while at most `outstanding` of
    them wait for a worker (a cedant sends a file, not a flood)."""
    try:
        for number in itertools.count():
            while phase.running():
                active = ImportJob.objects.filter(source_id=source_id, status__in=ImportJob.ACTIVE).count()
                if active < outstanding:
                    break
                time.sleep(0.3)
            if not phase.running():
                return
            name = f"soak-{run}-{number:04d}.csv"
            content = bordereau_csv(run, number, rows)
            data = {"source": source_id, "kind": "risk", "period": IMPORT_PERIOD}
            response = http.post_form("/bordereaux/upload/", data, files={"file": (name, content, "text/csv")})
            with phase.lock:
                if response.status_code == 302 and "/bordereaux/jobs/" in response.headers.get("Location", ""):
                    phase.import_rows[name] = rows
                else:
                    phase.failures.append(f"bordereau upload answered {response.status_code}")
    finally:
        connection.close()


def report_runs(phase, http, year):
    """Finance's integration requesting the collections report through the staff API, following the
    run until its file is ready and downloading it."""
    import hashlib

    parameters = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    while phase.running():
        response = http.send(
            "POST", f"/api/v1/staff/reports/{REPORT}/runs/", json={"format": "csv", "parameters": parameters}
        )
        if response.status_code != 202:
            with phase.lock:
                phase.failures.append(f"report request answered {response.status_code}")
            time.sleep(1)
            continue
        run_id = response.json()["id"]
        with phase.lock:
            phase.report_runs.add(run_id)
        while True:
            answer = http.send("GET", f"/api/v1/staff/reports/runs/{run_id}/")
            if answer.status_code != 200:
                with phase.lock:
                    phase.failures.append(f"report run answered {answer.status_code}")
                return
            run = answer.json()
            if run["status"] not in ("QUEUED", "RUNNING") or not phase.running():
                break
            time.sleep(0.3)
        if run["status"] == "SUCCEEDED":
            download = http.send("GET", run["download_url"])
            if hashlib.sha256(download.content).hexdigest() != run["sha256"]:
                with phase.lock:
                    phase.report_checksums_wrong.append(run_id)


def reads(phase, http, token):
    """An operator's probes and Prometheus' scrapes beside the load."""
    while phase.running():
        for path, headers in (("/healthz", {}), ("/readyz", {}), ("/metrics", {"Authorization": f"Bearer {token}"})):
            http.send("GET", path, headers=headers)
        time.sleep(0.5)


def webhook_storm(phase, http, deliveries):
    """Wompi posting signed events; it resends until it gets a 200."""
    while phase.running():
        with phase.lock:
            if not deliveries:
                return
            _index, (body, headers) = deliveries.pop()
        for _ in range(40):
            response = http.send(
                "POST", "/api/v1/webhooks/wompi/", data=body, headers={**headers, "Content-Type": "application/json"}
            )
            if response.status_code == 200:
                break
            time.sleep(0.05)
