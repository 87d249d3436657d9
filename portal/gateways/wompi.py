"""Wompi's REST API (docs.wompi.co) and its two signatures.

The client sends each request once and tries again only when no answer came back (the
connection failed, broke or timed out); an answer that did come back, 4xx or 5xx, is final.
Sending a transaction again is safe because its `reference` is new for every attempt and Wompi
refuses a reference it has already seen: a retry either creates the one transaction or is told
the reference is taken, and then the transaction is looked up by that reference.
"""

import hashlib
import logging
import time
from urllib.parse import quote

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# What a lost answer looks like: no connection, a broken one, or no reply within the timeout.
NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
RETRY_PAUSE_SECONDS = 0.2


def _data(body):
    """The `data` object of a Wompi answer; an answer without one is a fault on Wompi's side."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise WompiServerError(200, "Wompi's answer has no data object")
    return data


class WompiError(Exception):
    """Wompi could not do what was asked."""


class WompiUnavailable(WompiError):
    """No answer from Wompi after every attempt: what was asked may or may not have happened."""


class WompiServerError(WompiError):
    """Wompi answered with a server error (5xx) or an answer that is not JSON."""

    def __init__(self, status_code, message):
        super().__init__(message)
        self.status_code = status_code


class WompiRefused(WompiError):
    """Wompi refused the request (4xx): `error_type` and the field `messages` it gave."""

    def __init__(self, status_code, error_type, reason, messages):
        super().__init__(reason or error_type)
        self.status_code = status_code
        self.error_type = error_type
        self.reason = reason
        self.messages = messages

    @property
    def reference_taken(self):
        return self.status_code == 422 and "reference" in self.messages

    def describe(self):
        """The refusal in one line: Wompi's field messages, or its reason."""
        if self.messages:
            return "; ".join(
                f"{field}: {', '.join(str(item) for item in items) if isinstance(items, list) else items}"
                for field, items in self.messages.items()
            )
        return self.reason or self.error_type


def integrity_signature(*, reference, amount_in_cents, currency, secret):
    """The `signature` of a new transaction: SHA-256 of reference, amount in cents, currency and the
    integrity secret, concatenated in that order."""
    return hashlib.sha256(f"{reference}{amount_in_cents}{currency}{secret}".encode()).hexdigest()


def event_checksum(*, values, timestamp, secret):
    """An event's checksum: SHA-256 of the values of the properties its signature names (in that
    order), then its timestamp, then the events secret, concatenated."""
    return hashlib.sha256(("".join(values) + str(timestamp) + secret).encode()).hexdigest()


class WompiClient:
    """A small client for the endpoints Amparo uses. Settings are read when it is made."""

    def __init__(self, *, session=None):
        self.base_url = settings.WOMPI_API_URL.rstrip("/")
        self.public_key = settings.WOMPI_PUBLIC_KEY
        self.private_key = settings.WOMPI_PRIVATE_KEY
        self.integrity_secret = settings.WOMPI_INTEGRITY_SECRET
        self.timeout = (settings.WOMPI_CONNECT_TIMEOUT_SECONDS, settings.WOMPI_READ_TIMEOUT_SECONDS)
        self.attempts = max(1, settings.WOMPI_ATTEMPTS)
        self.session = session or requests.Session()

    def _request(self, method, path, *, key, payload=None, params=None):
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, json=payload, params=params, headers=headers, timeout=self.timeout
                )
            except NETWORK_FAILURES as failure:
                logger.warning(
                    "wompi request got no answer",
                    extra={"method": method, "path": path, "attempt": attempt, "failure": type(failure).__name__},
                )
                if attempt >= self.attempts:
                    raise WompiUnavailable(f"Wompi did not answer {method} {path}") from failure
                time.sleep(RETRY_PAUSE_SECONDS * attempt)
                continue
            logger.info(
                "wompi request answered",
                extra={
                    "method": method,
                    "path": path,
                    "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000),
                },
            )
            return self._read(response)

    @staticmethod
    def _read(response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300 and isinstance(body, dict):
            return body
        if 400 <= response.status_code < 500:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            error = error if isinstance(error, dict) else {}
            messages = error.get("messages") if isinstance(error.get("messages"), dict) else {}
            raise WompiRefused(response.status_code, str(error.get("type", "")), str(error.get("reason", "")), messages)
        raise WompiServerError(response.status_code, f"Wompi answered {response.status_code}")

    def acceptance_tokens(self):
        """The presigned acceptance tokens a new transaction must carry: Wompi's end-user policy and
        its personal data authorisation, with the links to the documents they stand for."""
        merchant = self._request("GET", f"/merchants/{quote(self.public_key, safe='')}", key=self.public_key)
        data = merchant.get("data") or {}
        policy = data.get("presigned_acceptance") or {}
        personal = data.get("presigned_personal_data_auth") or {}
        if not policy.get("acceptance_token"):
            raise WompiServerError(200, "Wompi's merchant answer has no acceptance token")
        return {
            "acceptance_token": policy["acceptance_token"],
            "accept_personal_auth": personal.get("acceptance_token", ""),
            "policy_url": policy.get("permalink", ""),
            "personal_data_url": personal.get("permalink", ""),
        }

    def create_transaction(
        self, *, reference, amount_in_cents, currency, customer_email, payment_method, acceptance, redirect_url=""
    ):
        payload = {
            "acceptance_token": acceptance["acceptance_token"],
            "amount_in_cents": amount_in_cents,
            "currency": currency,
            "signature": integrity_signature(
                reference=reference, amount_in_cents=amount_in_cents, currency=currency, secret=self.integrity_secret
            ),
            "customer_email": customer_email,
            "reference": reference,
            "payment_method": payment_method,
        }
        if acceptance.get("accept_personal_auth"):
            payload["accept_personal_auth"] = acceptance["accept_personal_auth"]
        if redirect_url:
            payload["redirect_url"] = redirect_url
        return _data(self._request("POST", "/transactions", key=self.private_key, payload=payload))

    def transaction(self, wompi_id):
        return _data(self._request("GET", f"/transactions/{quote(wompi_id, safe='')}", key=self.public_key))

    def transactions_with_reference(self, reference):
        found = self._request("GET", "/transactions", key=self.private_key, params={"reference": reference})
        return [item for item in found.get("data") or [] if isinstance(item, dict)]

    def pse_banks(self):
        """[(financial institution code, name)] as Wompi lists them for PSE."""
        banks = self._request("GET", "/pse/financial_institutions", key=self.public_key).get("data") or []
        return [
            (str(bank["financial_institution_code"]), str(bank.get("financial_institution_name", "")))
            for bank in banks
            if isinstance(bank, dict) and bank.get("financial_institution_code") is not None
        ]
