"""Throttles of the sign-in, sign-up, code and password endpoints, counted in the shared cache:
per client address (portal.core.client_address, the one the lockout and audit trail use) and per
account (the email, ID or challenge the request names). Rates are settings, read at each request."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework.throttling import SimpleRateThrottle

from portal.accounts.selectors import otp_challenge_account_key
from portal.core.client_address import client_address


class AuthAddressThrottle(SimpleRateThrottle):
    scope = "auth_address"

    def get_rate(self):
        return settings.AMPARO_API_AUTH_RATE_PER_ADDRESS

    def get_cache_key(self, request, view):
        address = client_address(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": address}


def _account_key(request):
    """What account the request is about: its challenge's owner, else the email or ID it names."""
    data = request.data if hasattr(request.data, "get") else {}
    challenge = data.get("challenge")
    if challenge:
        try:
            return otp_challenge_account_key(challenge)
        except ValidationError:  # not a challenge id: the view refuses it
            return f"challenge:{str(challenge)[:64]}"
    if data.get("id_number"):
        return f"id:{str(data.get('id_type', ''))[:4]}:{''.join(str(data['id_number']).split()).upper()[:40]}"
    if data.get("email"):
        return f"email:{str(data['email']).strip().lower()[:254]}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


class AuthAccountThrottle(AuthAddressThrottle):
    scope = "auth_account"

    def get_rate(self):
        return settings.AMPARO_API_AUTH_RATE_PER_ACCOUNT

    def get_cache_key(self, request, view):
        key = _account_key(request)
        if key is None:
            return None
        # Hashed: no email or ID number in the cache's keys.
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(key.encode()).hexdigest()}


AUTH_THROTTLES = [AuthAddressThrottle, AuthAccountThrottle]
