"""A local credit bureau: a real HTTP server speaking the protocol of portal/loans/bureau.py.

- POST /v1/credit-reports  Bearer key; answers {"reference", "report_id", "score", "reasons"}; a
                           repeated Idempotency-Key gets the report already made (one enquiry).

Scores: `scores[id_number]`, else `default_score`. Faults on demand: `answer_with(status, n)` answers
the next n requests with that status (5xx: the bureau failed; 4xx: the request is refused), and
`delay_answers(seconds, n)` answers the next n late (past the client's read timeout).
"""

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = "bureau-test-key"


@contextmanager
def running_bureau(settings, **options):
    """A started FakeBureau with Django's `settings` (pytest-django's fixture) pointing at it."""
    server = FakeBureau(**options).start()
    settings.AMPARO_CREDIT_BUREAU_URL = server.url
    settings.AMPARO_CREDIT_BUREAU_KEY = KEY
    settings.AMPARO_CREDIT_BUREAU_READ_TIMEOUT_SECONDS = 0.5
    settings.AMPARO_CREDIT_BUREAU_ATTEMPTS = 3
    try:
        yield server
    finally:
        server.stop()


class FakeBureau:
    def __init__(self, *, default_score=720):
        self.default_score = default_score
        self.scores = {}
        self.requests = []
        self.reports = {}
        self._faults = []
        self._lock = threading.Lock()

    def answer_with(self, status, count=1):
        with self._lock:
            self._faults.extend([("status", status)] * count)

    def delay_answers(self, seconds, count=1):
        with self._lock:
            self._faults.extend([("delay", seconds)] * count)

    def _next_fault(self):
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def start(self):
        bureau = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                bureau.requests.append({"body": body, "idempotency_key": key})
                fault = bureau._next_fault()
                if fault and fault[0] == "delay":
                    time.sleep(fault[1])
                elif fault:
                    self._answer(fault[1], {"detail": f"fault {fault[1]} on demand"})
                    return
                if self.path != "/v1/credit-reports":
                    self._answer(404, {"detail": "not found"})
                    return
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    self._answer(401, {"detail": "unknown key"})
                    return
                if not str(body.get("id_number", "")).strip():
                    self._answer(422, {"detail": "id_number is required"})
                    return
                with bureau._lock:
                    if key not in bureau.reports:
                        score = bureau.scores.get(body["id_number"], bureau.default_score)
                        bureau.reports[key] = {
                            "reference": body.get("reference"),
                            "report_id": f"R-{len(bureau.reports) + 1}",
                            "score": score,
                            "reasons": [{"code": "HISTORY", "description": "Payment history considered"}],
                        }
                    report = bureau.reports[key]
                self._answer(200, report)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
