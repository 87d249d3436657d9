import logging
import re

SECRET_KEYS = re.compile(r"passw(or)?d|secret|token|otp|api_?key|authorization|cookie", re.IGNORECASE)
SECRET_IN_TEXT = re.compile(
    r"(?P<key>password|passwd|secret|token|otp|api[_-]?key|authorization)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s&\"',;]+)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def _redact_text(text):
    return SECRET_IN_TEXT.sub(rf"\g<key>\g<sep>{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Last line of defence: blank out values that look like secrets before a record is written.

    The message is formatted first and redacted as text, so that a secret passed as an argument
    (`log.info("password=%s", value)`) is caught too and the line is never lost.
    """

    def filter(self, record):
        if isinstance(record.args, dict):
            record.args = {k: (REDACTED if SECRET_KEYS.search(str(k)) else v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} (unformattable arguments withheld)"
        record.msg = _redact_text(message)
        record.args = None
        for key in list(vars(record)):
            if key not in _STANDARD_ATTRS and SECRET_KEYS.search(key):
                setattr(record, key, REDACTED)
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "correlation_id",
}
