"""Logged exchanges with outside systems. What is stored of a request or an answer passes an allowlist:
a header or JSON field not named here is replaced by "[redacted]" before it reaches the database, so
a new personal field in a payload is hidden until someone decides it may be kept."""

from portal.core.request_context import current_request_context

from .models import Exchange

REDACTED = "[redacted]"

HEADERS_KEPT = frozenset(
    {"accept", "content-type", "content-length", "idempotency-key", "x-request-id", "retry-after", "date"}
)

# Field names whose values are kept: the policy's and payment's terms and the core's answers. Names,
# ID numbers, addresses, free-text reasons and descriptions, tokens and secrets are not here.
FIELDS_KEPT = frozenset(
    {
        # policies
        "number",
        "version",
        "version_kind",
        "status",
        "product",
        "code",
        "line",
        "cover_start",
        "cover_end",
        "effective_date",
        "sum_insured",
        "premium",
        "premium_change",
        "currency",
        "coverages",
        "limit",
        "deductible_pct",
        "deductible_min",
        "renews",
        "recorded_on",
        "refund",
        # payments
        "kind",
        "reference",
        "amount",
        "policy_number",
        "loan",
        "claim_number",
        "paid_on",
        "method",
        # the core's answers and pages
        "responseType",
        "coreId",
        "errorCode",
        "errorDesc",
        "errorType",
        "items",
        "nextCursor",
        "until",
        "updatedAt",
        "statusChangedAt",
        "statusChangedBy",
        "lines",
        "lineId",
        "date",
        "balance",
        "nextSince",
        "month",
        "token_type",
        "expires_in",
    }
)


def redact(value, *, kept=FIELDS_KEPT):
    """`value` (parsed JSON) with every object member not in `kept` replaced; lists are walked."""
    if isinstance(value, dict):
        return {key: redact(item, kept=kept) if key in kept else REDACTED for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, kept=kept) for item in value]
    return value


def redact_headers(headers):
    return {name: (value if name.lower() in HEADERS_KEPT else REDACTED) for name, value in (headers or {}).items()}


def exchange_start(*, destination, operation, method, path, headers=None, body=None, message=None, worker=""):
    """Record a request before it is sent (committed at once, outside any transaction), so a worker that
    dies waiting for the answer still leaves its attempt in the log, marked as never answered."""
    return Exchange.objects.create(
        destination=destination,
        operation=operation,
        message=message,
        attempt=message.attempts if message is not None else None,
        method=method,
        path=path[:300],
        request_headers=redact_headers(headers),
        request_body=redact(body) if body is not None else None,
        worker=worker[:80],
        correlation_id=(message.correlation_id if message is not None else "")
        or current_request_context().correlation_id,
    )


def exchange_finish(
    exchange, *, outcome, status_code=None, headers=None, body=None, error="", duration_ms=None, save=True
):
    """Fill in the answer (redacted). `save=False` leaves saving to the caller's transaction."""
    exchange.outcome = outcome
    exchange.status_code = status_code
    exchange.response_headers = redact_headers(headers)
    exchange.response_body = redact(body) if body is not None else None
    exchange.error = (error or "")[:500]
    exchange.duration_ms = duration_ms
    if save:
        exchange.save(
            update_fields=["outcome", "status_code", "response_headers", "response_body", "error", "duration_ms"]
        )
    return exchange
