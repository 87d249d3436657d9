"""CASSE, the insurer's core system: the only module that knows its protocol (docs/casse-protocol.md).

It translates Amparo's outbox events (policy number, version, status, amounts, in our words) into
CASSE's requests, reads its answers, and pulls what CASSE changed. Another insurer's API is another
module with the same methods.

Every request has connect and read timeouts and is logged (redacted) as an exchange. Writes carry
the message's `Idempotency-Key`, the same on every try, so the core does the work once however often
an answer is lost. This client never retries by itself: the relay decides when to try again, and
the shared circuit breaker whether to call at all.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from django.conf import settings

from portal.core.retry_after import retry_after_seconds
from portal.outbox.models import EventType

from .exchanges import exchange_finish, exchange_start
from .models import Outcome

logger = logging.getLogger(__name__)

NAME = "casse"
NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
# errorType values after which trying the same request again cannot help: a person must look.
PERMANENT_ERRORS = frozenset({"VALIDATION", "BUSINESS"})
TOKEN_MARGIN_SECONDS = 30

_tokens = {}
_tokens_lock = threading.Lock()


class CasseError(Exception):
    """A pull or a question the core could not answer (no answer, an error, or an answer we cannot read)."""


class TokenRefused(CasseError):
    """The token endpoint answered without a token: our client credentials are wrong or revoked."""


@dataclass
class Answer:
    """What became of one request: `outcome` (OK, RETRY, REFUSED, NO_ANSWER), the core's id when it
    acknowledged, how long it asked us to wait (429), and whether the failure is the destination's
    (no answer, 5xx, 429: they count for the circuit breaker) rather than this message's."""

    outcome: str
    status_code: int | None = None
    core_id: str = ""
    body: dict | list | None = None
    retry_after: float | None = None
    error: str = ""
    destination_failing: bool = False
    exchange: object = field(default=None, repr=False)

    @property
    def ok(self):
        return self.outcome == Outcome.OK


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(body, status):
    if isinstance(body, dict) and body.get("responseType") == "ER":
        return f"{status} {body.get('errorType', '')} {body.get('errorCode', '')}: {body.get('errorDesc', '')}"[:500]
    return f"the core answered {status}"


def read_answer(response, *, write=True):
    """An HTTP answer of the core as an `Answer`, by its status and the protocol's envelope: a write is
    acknowledged only by {"responseType": "OK"}; a read by any JSON object."""
    body = _json(response)
    status = response.status_code
    if 200 <= status < 300:
        if isinstance(body, dict) and (body.get("responseType") == "OK" or not write):
            return Answer(Outcome.OK, status, core_id=str(body.get("coreId") or "")[:64], body=body)
        return Answer(Outcome.RETRY, status, body=body, error="the core's answer is not an acknowledgement")
    if status == 429:
        return Answer(
            Outcome.RETRY,
            status,
            body=body,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            error="the core asks us to slow down (429)",
            destination_failing=True,
        )
    if status >= 500 or status in (401, 403):
        # 401/403 after a fresh token: our credentials, not this message, are wrong.
        return Answer(Outcome.RETRY, status, body=body, error=_error_text(body, status), destination_failing=True)
    if isinstance(body, dict) and body.get("errorType") not in PERMANENT_ERRORS and body.get("responseType") == "ER":
        return Answer(Outcome.RETRY, status, body=body, error=_error_text(body, status))
    return Answer(Outcome.REFUSED, status, body=body, error=_error_text(body, status))


# --- our events in CASSE's words ------------------------------------------------------------------------


def _policy_body(event):
    customer = event.get("customer") or {}
    return {
        "number": event["policy_number"],
        "version": event["version"],
        "version_kind": event["version_kind"],
        "status": event["status"],
        "customer": {
            "id_type": customer.get("id_type", ""),
            "id_number": customer.get("id_number", ""),
            "name": customer.get("full_name", ""),
        },
        "product": {"code": event["product"]["code"], "line": event["product"]["line"]},
        "cover_start": event["start_date"],
        "cover_end": event["end_date"],
        "effective_date": event["effective_date"],
        "sum_insured": event["sum_insured"],
        "premium": event["premium"],
        "premium_change": event["premium_change"],
        "currency": event["currency"],
        "coverages": [
            {
                "code": line["code"],
                "limit": line["limit"],
                "premium": line["premium"],
                "deductible_pct": line["deductible_pct"],
                "deductible_min": line["deductible_min"],
            }
            for line in event.get("coverages", [])
        ],
        "renews": event.get("renews"),
        "recorded_on": event["recorded_on"],
    }


def _payment_body(event, kind):
    body = {
        "kind": kind,
        "reference": event["reference"],
        "amount": event["amount"],
        "currency": event["currency"],
        "paid_on": event["paid_on"],
    }
    if event.get("loan"):
        body["loan"] = event["loan"]
    else:
        body["policy_number"] = event["policy_number"]
    if event.get("claim_number"):
        body["claim_number"] = event["claim_number"]
    if event.get("method"):
        body["method"] = event["method"]
    return body


def request_for(message):
    """(method, path, body) of the request that tells the core about `message`'s event."""
    event = message.payload
    kind = message.event_type
    if kind == EventType.POLICY_CANCELLED:
        number = quote(event["policy_number"], safe="")
        return (
            "POST",
            f"/v1/policies/{number}/cancellations",
            {
                "number": event["policy_number"],
                "version": event["version"],
                "status": event["status"],
                "effective_date": event["effective_date"],
                "refund": event.get("refund", "0.00"),
                "currency": event["currency"],
                "reason": event.get("reason", ""),
                "recorded_on": event["recorded_on"],
            },
        )
    if kind.startswith("policy."):
        return "PUT", f"/v1/policies/{quote(event['policy_number'], safe='')}", _policy_body(event)
    payments = {
        EventType.PAYMENT_RECEIVED: "PREMIUM",
        EventType.PAYOUT_PAID: "CLAIM_PAYOUT",
        EventType.LOAN_DISBURSED: "DISBURSEMENT",
    }
    if kind in payments:
        return "POST", "/v1/payments", _payment_body(event, payments[kind])
    raise ValueError(f"CASSE takes no {kind} events")


# --- the client -------------------------------------------------------------------------------------------


class CasseClient:
    """Talks to the core at CASSE_API_URL. Settings are read when it is made."""

    name = NAME
    event_types = frozenset(EventType.values)
    # The core of record: its ids are kept on our policies and payments.
    records_references = True

    def __init__(self, *, session=None):
        self.base_url = settings.CASSE_API_URL.rstrip("/")
        self.token_url = settings.CASSE_TOKEN_URL
        self.client_id = settings.CASSE_CLIENT_ID
        self.client_secret = settings.CASSE_CLIENT_SECRET
        self.timeout = (settings.CASSE_CONNECT_TIMEOUT_SECONDS, settings.CASSE_READ_TIMEOUT_SECONDS)
        self.max_attempts = max(1, settings.CASSE_MAX_ATTEMPTS)
        self.retry_base_seconds = settings.CASSE_RETRY_BASE_SECONDS
        self.retry_max_seconds = settings.CASSE_RETRY_MAX_SECONDS
        self.breaker_failures = max(1, settings.CASSE_BREAKER_FAILURES)
        self.breaker_cooldown_seconds = settings.CASSE_BREAKER_COOLDOWN_SECONDS
        self.session = session or requests.Session()

    @staticmethod
    def enabled():
        return bool(settings.CASSE_API_URL)

    # OAuth2 client credentials: one token per process, reused until shortly before it expires.
    def _token(self, *, fresh=False):
        key = (self.token_url, self.client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and not fresh and cached[1] > time.monotonic():
                return cached[0]
        exchange = exchange_start(
            destination=self.name,
            operation="token",
            method="POST",
            path=self.token_url,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        started = time.monotonic()
        try:
            response = self.session.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
            )
        except NETWORK_FAILURES as failure:
            exchange_finish(exchange, outcome=Outcome.NO_ANSWER, error=type(failure).__name__, duration_ms=_ms(started))
            raise CasseError("the core's token endpoint did not answer") from failure
        body = _json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        exchange_finish(
            exchange,
            outcome=Outcome.OK if token else Outcome.REFUSED,
            status_code=response.status_code,
            headers=dict(response.headers),
            body=body if isinstance(body, dict) else None,
            duration_ms=_ms(started),
            error="" if token else "no access token in the answer",
        )
        if not token:
            raise TokenRefused(f"the core's token endpoint answered {response.status_code} without a token")
        lifetime = float(body.get("expires_in") or 300)
        with _tokens_lock:
            _tokens[key] = (token, time.monotonic() + max(1.0, lifetime - TOKEN_MARGIN_SECONDS))
        return token

    def _request(
        self,
        method,
        path,
        *,
        operation,
        body=None,
        params=None,
        headers=None,
        message=None,
        worker="",
        logged_path=None,
    ):
        """One request, logged; returns (Answer, parsed body). Never raises for the network or the core's errors."""
        exchange = exchange_start(
            destination=self.name,
            operation=operation,
            method=method,
            path=logged_path or path,
            headers=headers,
            body=body,
            message=message,
            worker=worker,
        )
        started = time.monotonic()
        try:
            response = self._send(method, path, body=body, params=params, headers=headers)
        except TokenRefused as failure:
            answer = Answer(Outcome.RETRY, error=str(failure), destination_failing=True)
        except CasseError as failure:
            answer = Answer(Outcome.NO_ANSWER, error=str(failure), destination_failing=True)
        except NETWORK_FAILURES as failure:
            answer = Answer(Outcome.NO_ANSWER, error=f"no answer: {type(failure).__name__}", destination_failing=True)
        else:
            answer = read_answer(response, write=method != "GET")
            exchange.response_headers = dict(response.headers)
        exchange_finish(
            exchange,
            outcome=answer.outcome,
            status_code=answer.status_code,
            headers=exchange.response_headers,
            body=answer.body,
            error=answer.error,
            duration_ms=_ms(started),
            save=message is None,
        )
        answer.exchange = exchange
        (logger.debug if answer.ok else logger.info)(
            "casse request answered",
            extra={
                "operation": operation,
                "status": answer.status_code,
                "outcome": answer.outcome,
                "ms": exchange.duration_ms,
            },
        )
        return answer

    def _send(self, method, path, *, body, params, headers):
        headers = {"Accept": "application/json", **(headers or {})}
        for fresh in (False, True):
            token = self._token(fresh=fresh)
            response = self.session.request(
                method,
                f"{self.base_url}{path}",
                json=body,
                params=params,
                headers={**headers, "Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
            if response.status_code != 401:
                return response
        return response

    # --- push ---------------------------------------------------------------------------------------------

    def deliver(self, message, *, worker=""):
        """Tell the core about `message`'s event; the exchange is left for the caller to save with the outcome."""
        method, path, body = request_for(message)
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(message.idempotency_key)}
        if message.correlation_id:
            headers["X-Request-ID"] = message.correlation_id
        return self._request(
            method, path, operation=message.event_type, body=body, headers=headers, message=message, worker=worker
        )

    def probe(self):
        """Is the core answering? GET /v1/health (used by the circuit breaker)."""
        return self._request("GET", "/v1/health", operation="health")

    # --- pull ---------------------------------------------------------------------------------------------

    def _get(self, path, *, operation, params=None, logged_path=None):
        answer = self._request("GET", path, operation=operation, params=params, logged_path=logged_path)
        if not answer.ok:
            raise CasseError(answer.error or f"the core answered {answer.status_code}")
        return answer.body

    def policy_changes(self, *, updated_since=None, cursor=None):
        """One page of policies whose status the core changed since `updated_since` (or every policy
        when it is None): {"items": [...], "nextCursor": ... or None, "until": ...}."""
        params = {key: value for key, value in (("updated_since", updated_since), ("cursor", cursor)) if value}
        return self._get("/v1/policies", operation="pull.policies", params=params)

    def statement(self, *, id_type, id_number, since=None):
        """The customer's statement lines in the core since `since`: {"lines": [...], "nextSince": ...}."""
        who = quote(f"{id_type}-{id_number}", safe="")
        return self._get(
            f"/v1/customers/{who}/statement",
            operation="pull.statement",
            params={"since": since} if since else None,
            logged_path="/v1/customers/[redacted]/statement",
        )

    def premium_summary(self, *, month):
        """The premium the core recorded per product and currency in `month` ("2026-05")."""
        return self._get("/v1/premium-summary", operation="reconcile.premium", params={"month": month})


def _ms(started):
    return round((time.monotonic() - started) * 1000)
