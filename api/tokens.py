"""The API's JWTs, minted from the server's record of a sign-in (its refresh family).

A pair is a function of the family's current refresh token id and issue time, so minting it twice
gives the same two strings: that is how two refreshes that raced with one token get the same pair.
Every token carries the family, and the access token the user's token version.
"""

import hashlib

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from portal.accounts.services import refresh_family_start

FAMILY_CLAIM = "fam"
VERSION_CLAIM = "ver"


def _token(token_class, *, user, family, jti, issued_at):
    token = token_class()
    token.set_iat(at_time=issued_at)
    token.set_exp(from_time=issued_at)
    token[api_settings.JTI_CLAIM] = jti
    token[api_settings.USER_ID_CLAIM] = str(user.pk)
    token[FAMILY_CLAIM] = str(family.pk)
    return token


def pair_for_family(family):
    """{"access", "refresh"} for the family's current refresh token."""
    user = family.user
    issued_at = family.current_issued_at
    refresh = _token(RefreshToken, user=user, family=family, jti=family.current_jti, issued_at=issued_at)
    access_jti = hashlib.sha256(f"{family.current_jti}:access".encode()).hexdigest()[:32]
    access = _token(AccessToken, user=user, family=family, jti=access_jti, issued_at=issued_at)
    access[VERSION_CLAIM] = user.token_version
    return {"access": str(access), "refresh": str(refresh)}


def token_pair_for(user):
    """A new sign-in for `user` (a refresh family of its own) and its first pair of tokens."""
    return pair_for_family(refresh_family_start(user=user))
