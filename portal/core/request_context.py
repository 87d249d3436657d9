"""What the current request (or task) is, for code that must not take the request as a parameter."""

from contextvars import ContextVar
from dataclasses import dataclass

from django_guid import get_guid


@dataclass(frozen=True)
class RequestContext:
    correlation_id: str = ""
    ip_address: str | None = None


_ip_address: ContextVar[str | None] = ContextVar("amparo_ip_address", default=None)


def current_request_context():
    return RequestContext(correlation_id=get_guid() or "", ip_address=_ip_address.get())


def set_ip_address(ip_address):
    return _ip_address.set(ip_address)


def reset_ip_address(token):
    _ip_address.reset(token)
