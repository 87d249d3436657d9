"""The Retry-After header every outside system may send (RFC 9110 §10.2.3)."""

import email.utils
from datetime import UTC, datetime


def retry_after_seconds(value):
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
