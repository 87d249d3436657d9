"""Who may read `/metrics`: a scraper presenting `AMPARO_METRICS_TOKEN` as a bearer token, or one
calling from an address in `AMPARO_METRICS_ALLOWED_IPS` (addresses or networks). Nobody otherwise."""

import hmac
import ipaddress

from django.conf import settings

from portal.core.client_address import client_address


def bearer_token(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(presented):
    expected = settings.AMPARO_METRICS_TOKEN
    return bool(expected) and bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


def address_allowed(request):
    address = client_address(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(network, strict=False) for network in settings.AMPARO_METRICS_ALLOWED_IPS)
