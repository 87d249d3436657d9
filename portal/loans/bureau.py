"""The credit bureau's HTTP API, as the loans' credit check uses it. The only code that knows it.

Protocol (one call):

    POST {AMPARO_CREDIT_BUREAU_URL}/v1/credit-reports
    Authorization: Bearer {AMPARO_CREDIT_BUREAU_KEY}
    Idempotency-Key: {loan number}-{task id}
    {"reference": "PRE-2026-000001", "id_type": "CC", "id_number": "52000001",
     "amount": "5000000.00", "currency": "COP", "tenure_months": 12}

    200 {"reference": "PRE-2026-000001", "report_id": "R-81", "score": 712,
         "reasons": [{"code": "LOW_DEBT", "description": "Low current indebtedness"}]}
    4xx {"detail": "..."}  the request is wrong (bad ID number, unknown key): final, not tried again
    5xx                    the bureau failed: tried again, like a timeout or a dropped connection

The score runs from 0 to 999. Trying again is safe: the bureau answers a repeated Idempotency-Key
with the report it already made, and never bills a second enquiry. Only the loan number, status and
timing are logged; the person's ID number never is.
"""

import logging
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
RETRY_PAUSE_SECONDS = 0.2
MAX_SCORE = 999


class BureauError(Exception):
    """The bureau gave no usable report."""


class BureauUnavailable(BureauError):
    """No usable answer after every attempt (timeouts, dropped connections, 5xx): worth trying later."""


class BureauRefused(BureauError):
    """The bureau refused the request itself (4xx): trying again will not help until it is corrected."""


@dataclass(frozen=True)
class CreditReport:
    report_id: str
    score: int
    reasons: list = field(default_factory=list)


class BureauClient:
    def __init__(self, *, session=None):
        self.base_url = settings.AMPARO_CREDIT_BUREAU_URL.rstrip("/")
        self.key = settings.AMPARO_CREDIT_BUREAU_KEY
        self.timeout = (
            settings.AMPARO_CREDIT_BUREAU_CONNECT_TIMEOUT_SECONDS,
            settings.AMPARO_CREDIT_BUREAU_READ_TIMEOUT_SECONDS,
        )
        self.attempts = max(1, settings.AMPARO_CREDIT_BUREAU_ATTEMPTS)
        self.session = session or requests.Session()

    def credit_report(self, *, reference, idempotency_key, id_type, id_number, amount, currency, tenure_months):
        if not self.base_url:
            raise BureauUnavailable("the credit bureau is not configured (AMPARO_CREDIT_BUREAU_URL)")
        payload = {
            "reference": reference,
            "id_type": id_type,
            "id_number": id_number,
            "amount": f"{amount:.2f}",
            "currency": currency,
            "tenure_months": tenure_months,
        }
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Idempotency-Key": idempotency_key,
            "Accept": "application/json",
        }
        for attempt in range(1, self.attempts + 1):
            started = time.monotonic()
            try:
                response = self.session.post(
                    f"{self.base_url}/v1/credit-reports", json=payload, headers=headers, timeout=self.timeout
                )
            except NETWORK_FAILURES as failure:
                logger.warning(
                    "credit bureau gave no answer",
                    extra={"reference": reference, "attempt": attempt, "failure": type(failure).__name__},
                )
            else:
                logger.info(
                    "credit bureau answered",
                    extra={
                        "reference": reference,
                        "attempt": attempt,
                        "status": response.status_code,
                        "ms": round((time.monotonic() - started) * 1000),
                    },
                )
                if response.status_code < 500:
                    return self._report(response, reference)
            if attempt < self.attempts:
                time.sleep(RETRY_PAUSE_SECONDS * attempt)
        raise BureauUnavailable(f"the credit bureau gave no report for {reference} after {self.attempts} attempts")

    @staticmethod
    def _report(response, reference):
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BureauUnavailable(f"the credit bureau's answer for {reference} is not JSON")
        if 400 <= response.status_code < 500:
            raise BureauRefused(str(body.get("detail") or f"HTTP {response.status_code}")[:200])
        score, reasons = body.get("score"), body.get("reasons", [])
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= MAX_SCORE:
            raise BureauUnavailable(f"the credit bureau's report for {reference} has no valid score")
        if body.get("reference") != reference:
            raise BureauUnavailable(f"the credit bureau answered for another reference than {reference}")
        reasons = [
            {"code": str(item.get("code", ""))[:40], "description": str(item.get("description", ""))[:200]}
            for item in (reasons if isinstance(reasons, list) else [])
            if isinstance(item, dict)
        ]
        return CreditReport(report_id=str(body.get("report_id", ""))[:64], score=score, reasons=reasons)
