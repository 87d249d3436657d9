import logging
import re

SECRET_KEYS = re.compile(r"passw(or)?d|secret|token|otp|api_?key|authorization|cookie", re.IGNORECASE)
SECRET_IN_TEXT = re.compile(
    r"(?P<key>password|passwd|secret|token|otp|api[_-]?key|authorization)(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s&\"',;]+)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


class RedactSecretsFilter(logging.Filter):
    """Last line of defence: blank out values that look like secrets before a record is written."""

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = SECRET_IN_TEXT.sub(rf"\g<key>\g<sep>{REDACTED}", record.msg)
        if isinstance(record.args, dict):
            record.args = {k: (REDACTED if SECRET_KEYS.search(str(k)) else v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_IN_TEXT.sub(rf"\g<key>\g<sep>{REDACTED}", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        for key in list(vars(record)):
            if key not in _STANDARD_ATTRS and SECRET_KEYS.search(key):
                setattr(record, key, REDACTED)
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "correlation_id",
}
