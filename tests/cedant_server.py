"""A local cedant's bordereau API for the web-service source tests, speaking each paginator's protocol
and OAuth2 client credentials as RFC 6749 §4.4 says: `POST /oauth/token` with HTTP Basic client
authentication (§2.3.1), `grant_type=client_credentials`, answering `{"access_token", "token_type":
"Bearer", "expires_in"}` with `Cache-Control: no-store` (§5.1), 401 `invalid_client` for a bad client
and 400 `unsupported_grant_type` (§5.2); the resource answers 401 with `WWW-Authenticate: Bearer
error="invalid_token"` (RFC 6750 §3) once a token has expired.

The Basic credentials are form-decoded as §2.3.1 says (django-oauth-toolkit does the same).

`faults` is a list of what the next data requests get instead of their page, one per request:
("status", code, headers), ("slow", seconds), ("malformed",), ("body", json) or ("repeat_cursor",);
`token_faults` the same for token requests: ("status", code, headers) or ("body", json)."""

import base64
import json
import secrets
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

CLIENT_ID = "amparo"
CLIENT_SECRET = "s3cret-client"


def risk_record(number, *, period="2026-10", updated_at=None, **changes):
    gross = Decimal(1000 + number)
    record = {
        "umr": f"B0999R{number % 7:02d}2026",
        "certificateRef": f"C{number:07d}",
        "insured": {"name": f"Insured {number} SAS"},
        "inceptionDate": "2026-10-01",
        "expiryDate": "2027-09-30",
        "locRisk": "CO",
        "currency": "USD",
        "sumInsured": float(gross * 1000),
        "grossPremium": float(gross),
        "commissionPct": 20,
        "totalTaxes": 50,
        "netPremium": float(gross * Decimal("0.8") - 50),
        "classOfBusiness": "Property",
        "transactionType": "New",
        "reportingPeriod": period,
        "updatedAt": updated_at or f"2026-10-{1 + number % 28:02d}T10:00:00Z",
    }
    record.update(changes)
    return record


class CedantServer:
    def __init__(self, records=(), *, mode="page_number", page_size=3, token_seconds=3600, require_token=True):
        self.records = list(records)
        self.mode, self.page_size, self.token_seconds, self.require_token = (
            mode,
            page_size,
            token_seconds,
            require_token,
        )
        self.faults = []
        self.token_faults = []
        self.client_secret = CLIENT_SECRET
        self.tokens = {}  # token -> expiry (monotonic)
        self.token_requests = 0
        self.data_requests = []  # (path, query) of each data request
        self.request_times = []
        self.lock = threading.Lock()
        self.extra_pages = {}  # page index -> records served instead (e.g. an empty page)
        handler = type("Handler", (_Handler,), {"cedant": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def spec(self, **overrides):
        paginators = {
            "page_number": {"type": "page_number", "page_param": "page", "start": 1},
            "offset": {"type": "offset", "offset_param": "offset", "limit_param": "limit", "limit": self.page_size},
            "link_header": {"type": "link_header"},
            "json_cursor": {"type": "json_cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"},
            "next_url": {"type": "next_url", "next_path": "links.next"},
            "single_page": {"type": "single_page"},
        }
        spec = {
            "name": "Seguros Andinos API",
            "kind": "risk",
            "base_url": self.url,
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": f"{self.url}/oauth/token",
                "client_id": CLIENT_ID,
                "client_secret_env": "ANDINOS_SECRET",
                "scope": "bordereaux.read",
            },
            "resource": {
                "path": "/v1/risks",
                "params": {"page_size": self.page_size},
                "records": "data",
                "paginator": paginators[self.mode],
            },
            "period": {"field": "reportingPeriod"},
            "mapping": {"locRisk": "Location of Risk Country"},
            "timeout": {"connect": 2, "read": 2},
            "retry": {"attempts": 4},
        }
        spec.update(overrides)
        return spec

    # --- what the handler asks ----------------------------------------------------------------------

    def issue_token(self):
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_seconds
            self.token_requests += 1
        return token

    def token_valid(self, header):
        if not header.startswith("Bearer "):
            return False
        expiry = self.tokens.get(header[len("Bearer ") :])
        return expiry is not None and expiry > time.monotonic()

    def visible(self, query):
        since = query.get("updated_since", [""])[0]
        return [record for record in self.records if not since or record["updatedAt"] >= since]


class _Handler(BaseHTTPRequestHandler):
    cedant = None

    def log_message(self, *args):
        pass

    def _send(self, status, body=None, headers=None, raw=None):
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        cedant = self.cedant
        if urlsplit(self.path).path != "/oauth/token":
            return self._send(404, {"error": "not_found"})
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        client = None
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            client = [unquote_plus(part) for part in base64.b64decode(authorization[6:]).decode().split(":", 1)]
        elif "client_id" in form:
            client = [form["client_id"][0], form.get("client_secret", [""])[0]]
        with cedant.lock:
            fault = cedant.token_faults.pop(0) if cedant.token_faults else None
            if fault is not None:
                cedant.token_requests += 1
        if fault is not None:
            if fault[0] == "status":
                return self._send(fault[1], {"error": "fault"}, fault[2] if len(fault) > 2 else None)
            return self._send(200, fault[1], {"Cache-Control": "no-store"})
        if client != [CLIENT_ID, cedant.client_secret]:
            return self._send(401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="cedant"'})
        if form.get("grant_type") != ["client_credentials"]:
            return self._send(400, {"error": "unsupported_grant_type"})
        token = cedant.issue_token()
        return self._send(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": cedant.token_seconds,
                "scope": "bordereaux.read",
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def do_GET(self):
        cedant = self.cedant
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path != "/v1/risks":
            return self._send(404, {"error": "not_found"})
        if cedant.require_token and not cedant.token_valid(self.headers.get("Authorization", "")):
            return self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        with cedant.lock:
            cedant.data_requests.append((parts.path, {k: v[0] for k, v in query.items()}))
            cedant.request_times.append(time.monotonic())
            fault = cedant.faults.pop(0) if cedant.faults else None
        if fault is not None:
            if fault[0] == "status":
                return self._send(fault[1], {"error": "fault"}, fault[2] if len(fault) > 2 else None)
            if fault[0] == "slow":
                time.sleep(fault[1])
            if fault[0] == "malformed":
                return self._send(200, raw=b'{"data": [{"umr": "B0')
            if fault[0] == "body":
                return self._send(200, fault[1])
        records = cedant.visible(query)
        size = cedant.page_size
        mode = cedant.mode
        if mode == "single_page":
            return self._send(200, {"data": records})
        if mode == "page_number":
            index = int(query.get("page", ["1"])[0]) - 1
            return self._send(200, {"data": self._page(records, index)})
        if mode == "offset":
            offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", [str(size)])[0])
            return self._send(200, {"data": records[offset : offset + limit]})
        index = int(query.get("cursor", query.get("p", ["0"]))[0] or 0)
        if fault is not None and fault[0] == "repeat_cursor":
            index = 0
        more = (index + 1) * size < len(records)
        page = self._page(records, index)
        if mode == "json_cursor":
            return self._send(200, {"data": page, "meta": {"next_cursor": str(index + 1) if more else None}})
        since = {"updated_since": query["updated_since"][0]} if "updated_since" in query else {}
        next_url = f"{cedant.url}/v1/risks?{urlencode({**since, 'p': index + 1, 'sig': 'xyz'})}" if more else None
        if mode == "next_url":
            return self._send(200, {"data": page, "links": {"next": next_url}})
        headers = {"Link": f'<{next_url}>; rel="next"'} if more else {}
        return self._send(200, {"data": page}, headers)

    def _page(self, records, index):
        if index in self.cedant.extra_pages:
            return self.cedant.extra_pages[index]
        size = self.cedant.page_size
        return records[index * size : (index + 1) * size]
