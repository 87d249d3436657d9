"""The client's address, as the trusted reverse proxies in front of us report it.

One function for the lockout (axes), allauth's rate limits, webhook throttles and the audit trail.
With `AMPARO_TRUSTED_PROXY_COUNT` = N, each of the N proxies appends the address it saw to
X-Forwarded-For, so the client is the N-th entry from the right; anything further left was
written by the client and is never believed. With N = 0 the socket's address is the client.
"""

import ipaddress

from django.conf import settings


def _valid(address):
    try:
        return str(ipaddress.ip_address(address.strip().strip("[]")))
    except ValueError:
        return None


def client_address(request):
    """The client's IP address, or None when the request carries none we can believe."""
    trusted = settings.AMPARO_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted > 0 and forwarded:
        hops = forwarded.split(",")
        if len(hops) >= trusted:
            return _valid(hops[-trusted])
        # Fewer hops than proxies: the request bypassed one of them; its socket address is all we know.
    return _valid(request.META.get("REMOTE_ADDR") or "")
