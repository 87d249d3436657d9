"""A local insurer core speaking the CASSE protocol (docs/casse-protocol.md): a real HTTP server in a
thread, with its own record of what it did, and faults injected on demand.

- POST /oauth/token                          client credentials (HTTP Basic) → a bearer token
- GET  /v1/health
- PUT  /v1/policies/{number}                 Idempotency-Key; the policy's version as Amparo holds it
- POST /v1/policies/{number}/cancellations   Idempotency-Key
- POST /v1/payments                          Idempotency-Key; premium, claim payouts, disbursements
- GET  /v1/policies?updated_since=&cursor=   policies changed since (every policy without it), paged
- GET  /v1/customers/{type}-{number}/statement?since=
- GET  /v1/premium-summary?month=YYYY-MM

A write whose Idempotency-Key the core has already processed gets the first answer again (a duplicate
acknowledgement) and changes nothing. `effects` is the core's own log: one entry per write it
actually applied, in the order it applied them; `requests` lists every request that reached it.

Faults (each for the next `count` requests that reach /v1, in order): `fail_next` (5xx), `rate_limit_next`
(429 with Retry-After), `refuse_next` (4xx ER), `time_out_next` (the core works, then answers after
the client gave up), `drop_after_processing_next` (the write is applied, then the connection is closed
without an answer), `answer_late_next` (the write is applied at once and answered late, so later
requests are answered first). `go_down(until=...)` closes every connection, token and health included,
until the core's clock reaches `until`: tests pass a simulated clock and live through hours of downtime
without waiting for them.
"""

import base64
import json
import secrets
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from ..local_server import LocalServer

CLIENT_ID = "amparo-test"
CLIENT_SECRET = "casse-test-secret"


class WallClock:
    def now(self):
        return datetime.now(UTC)

    def sleep(self, seconds):
        time.sleep(seconds)


class SimulatedClock:
    """Time that passes only when someone sleeps: the relay's backoffs and the core's downtime share it."""

    def __init__(self, start=None):
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self):
        with self._lock:
            return self._now

    def sleep(self, seconds):
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self.slept += seconds

    def advance(self, **delta):
        with self._lock:
            self._now += timedelta(**delta)


def core_settings(root, *, client_id=CLIENT_ID, **overrides):
    """Django settings that point Amparo at a core at `root` (short timeouts, a quick breaker)."""
    return {
        "CASSE_API_URL": root,
        "CASSE_TOKEN_URL": f"{root}/oauth/token",
        "CASSE_CLIENT_ID": client_id,
        "CASSE_CLIENT_SECRET": CLIENT_SECRET,
        "CASSE_CONNECT_TIMEOUT_SECONDS": 1.0,
        "CASSE_READ_TIMEOUT_SECONDS": 1.0,
        "CASSE_MAX_ATTEMPTS": 6,
        "CASSE_RETRY_BASE_SECONDS": 10,
        "CASSE_RETRY_MAX_SECONDS": 600,
        "CASSE_BREAKER_FAILURES": 3,
        "CASSE_BREAKER_COOLDOWN_SECONDS": 30,
        **overrides,
    }


class _Error(Exception):
    def __init__(self, status, error_type, code, description):
        super().__init__(description)
        self.status = status
        self.body = {"responseType": "ER", "errorCode": code, "errorDesc": description, "errorType": error_type}


def _required(body, *names):
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise _Error(422, "VALIDATION", "MISSING_FIELDS", f"missing: {', '.join(missing)}")


class FakeCore(LocalServer):
    page_size = 100

    def __init__(self, *, clock=None, client_id=None):
        self.clock = clock or WallClock()
        # A client id of its own by default: Amparo keeps a token per token URL and client id, and a
        # later core on the same port must not be shown an earlier core's token.
        self.client_id = client_id or f"{CLIENT_ID}-{secrets.token_hex(4)}"
        self.policies = {}
        self.payments = {}
        self.answers = {}
        self.effects = []
        self.requests = []
        self.statements = defaultdict(list)
        self.tokens = set()
        # Writes of one policy (or loan) the core is handling at once; more than one is a relay bug.
        self.in_flight = Counter()
        self.overlaps = []
        self.hanging = threading.Event()
        self.down_until = None
        self._faults = deque()
        self._lock = threading.RLock()
        self._counter = 0
        self._changes = 0
        self.listen(_Handler, "core")

    # --- running --------------------------------------------------------------------------------------

    def settings(self, **overrides):
        """Django settings that point Amparo at this core (short timeouts, a quick breaker)."""
        return core_settings(self.root, client_id=self.client_id, **overrides)

    # --- faults ---------------------------------------------------------------------------------------

    def _add(self, fault, count):
        with self._lock:
            self._faults.extend([fault] * count)

    def fail_next(self, count=1, status=503):
        self._add(("status", status), count)

    def rate_limit_next(self, count=1, retry_after=120):
        self._add(("rate_limit", retry_after), count)

    def refuse_next(self, count=1, status=422, error_type="VALIDATION", code="INVALID"):
        self._add(("refuse", (status, error_type, code)), count)

    def time_out_next(self, count=1, seconds=1.5):
        self._add(("late", seconds), count)

    def answer_late_next(self, count=1, seconds=0.3):
        self._add(("late", seconds), count)

    def hang_next(self, count=1, seconds=30):
        """Apply the next write, then hold its answer for `seconds`; `hanging` is set while it waits."""
        self._add(("hang", seconds), count)

    def drop_after_processing_next(self, count=1):
        self._add(("drop_after", None), count)

    def go_down(self, *, until):
        self.down_until = until

    def _next_fault(self):
        with self._lock:
            return self._faults.popleft() if self._faults else (None, None)

    def is_down(self):
        return self.down_until is not None and self.clock.now() < self.down_until

    # --- what the core does on its own ----------------------------------------------------------------

    def _touch(self, policy, *, by):
        self._changes += 1
        # Strictly increasing, so `updated_since` never loses a change made in the same microsecond.
        policy["updatedAt"] = (self.clock.now() + timedelta(microseconds=self._changes)).isoformat()
        policy["statusChangedBy"] = by

    def change_status(self, number, status, *, on=None):
        """The core changes a policy's status by itself (an underwriter's decision there)."""
        with self._lock:
            policy = self.policies[number]
            policy["status"] = status
            policy["statusChangedAt"] = (on or self.clock.now().date()).isoformat()
            self._touch(policy, by="CORE")

    def add_statement_line(
        self, id_type, id_number, *, amount, description="Prima facturada", currency="COP", policy_number="", day=None
    ):
        with self._lock:
            self._counter += 1
            line = {
                "lineId": f"L{self._counter:08d}",
                "date": (day or self.clock.now().date()).isoformat(),
                "description": description,
                "policy_number": policy_number,
                "amount": str(amount),
                "currency": currency,
            }
            lines = self.statements[f"{id_type}-{id_number}"]
            line["balance"] = str(sum(Decimal(item["amount"]) for item in lines) + Decimal(str(amount)))
            lines.append(line)
            return line

    # --- what the core keeps --------------------------------------------------------------------------

    def effects_of(self, number):
        return [effect for effect in self.effects if effect["aggregate"] == number]

    def applied_keys(self):
        return Counter(effect["key"] for effect in self.effects)

    def _core_id(self, prefix):
        self._counter += 1
        return f"CASSE-{prefix}-{self._counter:07d}"

    def _write(self, method, path, key, body):
        """Apply a write once per idempotency key; (status, answer)."""
        if not key:
            raise _Error(400, "VALIDATION", "NO_IDEMPOTENCY_KEY", "Idempotency-Key is required")
        with self._lock:
            if key in self.answers:
                return self.answers[key]
            status, answer, effect = self._apply(method, path, body)
            effect.update(key=key, method=method, path=path)
            self.effects.append(effect)
            self.answers[key] = (status, answer)
            return status, answer

    def _apply(self, method, path, body):
        parts = path.strip("/").split("/")
        if method == "PUT" and len(parts) == 3 and parts[1] == "policies":
            return self._put_policy(unquote(parts[2]), body)
        if method == "POST" and len(parts) == 4 and parts[1] == "policies" and parts[3] == "cancellations":
            return self._cancel(unquote(parts[2]), body)
        if method == "POST" and parts == ["v1", "payments"]:
            return self._payment(body)
        raise _Error(404, "VALIDATION", "NOT_FOUND", f"no such resource {path}")

    def _put_policy(self, number, body):
        _required(body, "number", "version", "status", "customer", "product", "cover_start", "cover_end")
        _required(body, "premium", "currency")
        customer = body["customer"] if isinstance(body["customer"], dict) else {}
        _required(customer, "id_type", "id_number", "name")
        if body["number"] != number or not isinstance(body.get("coverages"), list):
            raise _Error(422, "VALIDATION", "INVALID_POLICY", "number or coverages do not match")
        policy = self.policies.get(number)
        if policy is not None and body["version"] < policy["version"]:
            raise _Error(
                409, "BUSINESS", "STALE_VERSION", f"version {body['version']} is older than {policy['version']}"
            )
        new_version = policy is None or body["version"] > policy["version"]
        if policy is None:
            policy = self.policies[number] = {"number": number, "coreId": self._core_id("POL"), "premiums": []}
        if new_version:
            policy["premiums"].append(
                (body.get("recorded_on"), body["product"]["code"], body["currency"], Decimal(body["premium_change"]))
            )
        if policy.get("status") != body["status"]:
            policy["statusChangedAt"] = body.get("recorded_on")
        policy.update(
            version=body["version"], status=body["status"], customer=f"{customer['id_type']}-{customer['id_number']}"
        )
        self._touch(policy, by="CLIENT")
        effect = {"aggregate": number, "kind": "policy", "version": body["version"], "status": body["status"]}
        return 200, {"responseType": "OK", "coreId": policy["coreId"]}, effect

    def _cancel(self, number, body):
        _required(body, "version", "effective_date", "currency")
        policy = self.policies.get(number)
        if policy is None:
            raise _Error(404, "BUSINESS", "UNKNOWN_POLICY", f"policy {number} is not in the core")
        policy["premiums"].append(
            (body.get("recorded_on"), None, body["currency"], -Decimal(body.get("refund") or "0"))
        )
        policy["version"] = max(policy["version"], body["version"])
        policy["status"] = body.get("status") or "CANCELLED"
        policy["statusChangedAt"] = body["effective_date"]
        self._touch(policy, by="CLIENT")
        effect = {"aggregate": number, "kind": "cancellation", "version": body["version"], "status": policy["status"]}
        return 200, {"responseType": "OK", "coreId": self._core_id("CAN")}, effect

    def _payment(self, body):
        _required(body, "kind", "reference", "amount", "currency", "paid_on")
        aggregate = body.get("policy_number") or body.get("loan")
        if not aggregate:
            raise _Error(422, "VALIDATION", "NO_TARGET", "policy_number or loan is required")
        if body.get("policy_number") and body["policy_number"] not in self.policies:
            raise _Error(404, "BUSINESS", "UNKNOWN_POLICY", f"policy {body['policy_number']} is not in the core")
        core_id = self._core_id("PAY")
        self.payments[core_id] = body
        effect = {"aggregate": aggregate, "kind": "payment", "reference": body["reference"], "amount": body["amount"]}
        return 201, {"responseType": "OK", "coreId": core_id}, effect

    # --- reads ----------------------------------------------------------------------------------------

    def _listing(self, query):
        since = query.get("updated_since")
        with self._lock:
            items = [
                {
                    "number": policy["number"],
                    "status": policy["status"],
                    "version": policy["version"],
                    "coreId": policy["coreId"],
                    "updatedAt": policy["updatedAt"],
                    "statusChangedAt": policy.get("statusChangedAt"),
                    "statusChangedBy": policy["statusChangedBy"],
                }
                for policy in self.policies.values()
                if since is None or policy["updatedAt"] > _iso(since)
            ]
        items.sort(key=lambda item: (item["updatedAt"], item["number"]))
        start = int(query.get("cursor") or 0)
        page = items[start : start + self.page_size]
        following = str(start + self.page_size) if start + self.page_size < len(items) else None
        until = items[-1]["updatedAt"] if items else (since or self.clock.now().isoformat())
        return {"items": page, "nextCursor": following, "until": until}

    def _statement(self, who, query):
        since = query.get("since") or ""
        with self._lock:
            lines = [line for line in self.statements.get(who, []) if line["lineId"] > since]
        return {"lines": lines, "nextSince": lines[-1]["lineId"] if lines else since}

    def _premium_summary(self, query):
        month = query.get("month", "")
        totals = defaultdict(Decimal)
        with self._lock:
            for policy in self.policies.values():
                product = None
                for recorded_on, code, currency, amount in policy["premiums"]:
                    product = code or product
                    if str(recorded_on or "").startswith(month):
                        totals[(product, currency)] += amount
        return {"items": [{"product": p, "currency": c, "premium": f"{v:.2f}"} for (p, c), v in sorted(totals.items())]}


def _iso(value):
    """An ISO timestamp comparable as text with the core's own (UTC, +00:00)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).isoformat()


@contextmanager
def running_core(settings, *, clock=None, **overrides):
    """A started FakeCore with Django's `settings` (pytest-django's fixture) pointing at it."""
    core = FakeCore(clock=clock).start()
    for name, value in core.settings(**overrides).items():
        setattr(settings, name, value)
    try:
        yield core
    finally:
        core.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm holds the body back
    # until the client's delayed ACK (~40 ms a request on a kept-alive connection).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    @property
    def core(self):
        return self.server.core

    def _drop(self):
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(self, status, body, headers=None):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw or "json" not in self.headers.get("Content-Type", ""):
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return {}

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method):
        core = self.core
        url = urlsplit(self.path)
        body = self._body()
        key = self.headers.get("Idempotency-Key", "")
        with core._lock:
            core.requests.append({"method": method, "path": url.path, "key": key, "at": core.clock.now()})
        if core.is_down():
            self._drop()
            return
        if url.path == "/oauth/token":
            self._token()
            return
        if self.headers.get("Authorization", "").removeprefix("Bearer ") not in core.tokens:
            self._answer(
                401,
                {"responseType": "ER", "errorCode": "UNAUTHORIZED", "errorDesc": "bad token", "errorType": "TECHNICAL"},
            )
            return
        fault, value = core._next_fault() if url.path != "/v1/health" else (None, None)
        if fault == "status":
            self._answer(
                value,
                {"responseType": "ER", "errorCode": "UNAVAILABLE", "errorDesc": "core busy", "errorType": "TECHNICAL"},
            )
            return
        if fault == "rate_limit":
            body_429 = {
                "responseType": "ER",
                "errorCode": "RATE_LIMITED",
                "errorDesc": "slow down",
                "errorType": "TECHNICAL",
            }
            self._answer(429, body_429, {"Retry-After": str(value)})
            return
        if fault == "refuse":
            status, error_type, code = value
            self._answer(
                status, {"responseType": "ER", "errorCode": code, "errorDesc": "refused", "errorType": error_type}
            )
            return
        aggregate = self._aggregate(method, url, body)
        with core._lock:
            core.in_flight[aggregate] += 1
            if aggregate and core.in_flight[aggregate] > 1:
                core.overlaps.append(aggregate)
        try:
            try:
                status, answer = self._route(method, url, key, body)
            except _Error as error:
                status, answer = error.status, error.body
            if fault == "drop_after":
                self._drop()
                return
            if fault == "hang":
                core.hanging.set()
            if fault in ("late", "hang"):
                time.sleep(value)
            with suppress(BrokenPipeError, ConnectionResetError):
                self._answer(status, answer)
        finally:
            with core._lock:
                core.in_flight[aggregate] -= 1

    @staticmethod
    def _aggregate(method, url, body):
        if method == "GET":
            return None
        parts = url.path.strip("/").split("/")
        if len(parts) >= 3 and parts[1] == "policies":
            return unquote(parts[2])
        return body.get("policy_number") or body.get("loan")

    def _route(self, method, url, key, body):
        core = self.core
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        if method == "GET" and url.path == "/v1/health":
            return 200, {"responseType": "OK"}
        if method == "GET" and url.path == "/v1/policies":
            return 200, core._listing(query)
        if method == "GET" and url.path.startswith("/v1/customers/") and url.path.endswith("/statement"):
            return 200, core._statement(unquote(url.path.split("/")[3]), query)
        if method == "GET" and url.path == "/v1/premium-summary":
            return 200, core._premium_summary(query)
        if method in ("PUT", "POST"):
            return core._write(method, url.path, key, body)
        raise _Error(404, "VALIDATION", "NOT_FOUND", url.path)

    def _token(self):
        expected = base64.b64encode(f"{self.core.client_id}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization", "") != f"Basic {expected}":
            self._answer(401, {"error": "invalid_client"})
            return
        token = secrets.token_urlsafe(16)
        with self.core._lock:
            self.core.tokens.add(token)
        self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
