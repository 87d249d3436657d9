"""Bearer JWT authentication for the API: signature, expiry and audience (simplejwt), then on every
request the account must still be active and the token's version must be the user's current one."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from .tokens import VERSION_CLAIM


class AmparoJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if validated_token.get(VERSION_CLAIM) != user.token_version:
            raise AuthenticationFailed(_("This token was revoked. Sign in again."), code="token_revoked")
        return user


class AmparoJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of AmparoJWTAuthentication (bearer JWT), for drf-spectacular."""

    target_class = "api.authentication.AmparoJWTAuthentication"


class NoCredentials(BaseAuthentication):
    """For the endpoints that come before a token (sign-in, sign-up, codes): a bearer token sent
    along, even a stale one, is ignored; refusals are still 401 with the bearer challenge."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
