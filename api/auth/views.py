"""/api/v1/auth/: sign-up, sign-in (password, then an emailed code or the staff's authenticator app),
token refresh and sign-out, password reset and change, primary email change. Thin views over the
accounts and customers services; every refusal is `{"detail": ...}` (plus field errors on a 400)."""

from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from portal.accounts import services as account_services
from portal.accounts.models import OtpMethod, OtpPurpose
from portal.accounts.selectors import otp_challenge_purpose
from portal.customers import services as customer_services

from ..authentication import NoCredentials
from ..throttling import AUTH_THROTTLES
from ..tokens import FAMILY_CLAIM, pair_for_family, token_pair_for
from . import serializers as s

TAG = ["auth"]
DETAIL = s.DetailSerializer
COMMON_ERRORS = {
    400: OpenApiResponse(DETAIL, description=_("Invalid input, or a code that is wrong, expired or used up.")),
    429: OpenApiResponse(DETAIL, description=_("Too many requests from this address or for this account.")),
}


class Refused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "refused"


@contextmanager
def service_answers():
    """The services' refusals as the HTTP answers they mean."""
    try:
        yield
    except account_services.OtpCooldown as error:
        raise exceptions.Throttled(wait=error.wait, detail=error.messages[0]) from error
    except account_services.OtpRefused as error:
        raise Refused(error.messages[0]) from error
    except account_services.TokenRefused as error:
        raise exceptions.AuthenticationFailed(str(error)) from error
    except account_services.SignInRefused as error:
        if error.locked_out:
            raise exceptions.Throttled(detail=str(error)) from error
        raise exceptions.AuthenticationFailed(str(error)) from error
    except ValidationError as error:
        raise exceptions.ValidationError(serializers.as_serializer_error(error)) from error


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _challenge_answer(challenge, detail, status_code=status.HTTP_202_ACCEPTED):
    body = {
        "challenge": str(challenge.pk),
        "method": challenge.method.lower(),
        "expires_in": settings.AMPARO_OTP_TTL_SECONDS,
        "resend_after": settings.AMPARO_OTP_RESEND_COOLDOWN_SECONDS if challenge.method == OtpMethod.EMAIL else 0,
        "detail": str(detail),
    }
    return Response(body, status=status_code)


def public(view, throttles=AUTH_THROTTLES):
    """Open to anyone (a stale bearer token is ignored), throttled per address and per account."""
    view = throttle_classes(throttles)(view)
    view = permission_classes([AllowAny])(view)
    return authentication_classes([NoCredentials])(view)


def public_unthrottled(view):
    """Open to anyone, not throttled: refresh tokens cannot be guessed, and the app of every customer
    behind one carrier's address refreshes every few minutes."""
    return public(view, throttles=[])


SENT = _("If the details are right, a code is on its way to the email on file.")


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.RegisterSerializer,
    responses={202: s.ChallengeStartedSerializer, **COMMON_ERRORS},
    summary="Sign up in the app",
    description=(
        "Starts a sign-up: a 6-digit code goes to the email on file when a customer with this ID exists, "
        "else to the email given. The answer is the same whether or not a customer or an account exists."
    ),
)
@api_view(["POST"])
@public
def register(request):
    data = _valid(s.RegisterSerializer, request)
    with service_answers():
        challenge = customer_services.app_signup_start(
            full_name=data["full_name"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            email=data["email"],
            phone=data["phone"],
            birth_date=data["birth_date"],
            password=data["password"],
        )
    return _challenge_answer(challenge, SENT)


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.SignInSerializer,
    responses={
        202: s.ChallengeStartedSerializer,
        401: OpenApiResponse(DETAIL, description=_("Wrong email or password, or an account that cannot sign in.")),
        **COMMON_ERRORS,
    },
    summary="Sign in: email and password, then a code",
    description=(
        "Customers get a code by email; staff type their authenticator app's code (method `totp`). "
        "Send it to otp/verify/ for the tokens."
    ),
)
@api_view(["POST"])
@public
def token_obtain(request):
    data = _valid(s.SignInSerializer, request)
    with service_answers():
        user = account_services.password_check(request=request._request, email=data["email"], password=data["password"])
        challenge = account_services.sign_in_start(user=user)
    if challenge.method == OtpMethod.TOTP:
        return _challenge_answer(challenge, _("Type the code your authenticator app shows."))
    return _challenge_answer(challenge, _("A code is on its way to your email."))


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.CodeSerializer,
    responses={200: s.TokenPairSerializer, **COMMON_ERRORS},
    summary="Verify a sign-up or sign-in code",
    description="The right code of a sign-up or sign-in challenge returns an access and a refresh token.",
)
@api_view(["POST"])
@public
def otp_verify(request):
    data = _valid(s.CodeSerializer, request)
    verify = (
        customer_services.app_signup_verify
        if otp_challenge_purpose(data["challenge"]) == OtpPurpose.SIGN_UP
        else account_services.sign_in_verify
    )
    with service_answers():
        user = verify(challenge_id=data["challenge"], code=data["code"])
    return Response(token_pair_for(user))


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.ChallengeSerializer,
    responses={202: s.ChallengeStartedSerializer, **COMMON_ERRORS},
    summary="Send a new code",
    description="A new code replaces the previous one, after a cooldown; wrong tries still count.",
)
@api_view(["POST"])
@public
def otp_resend(request):
    data = _valid(s.ChallengeSerializer, request)
    with service_answers():
        challenge = account_services.otp_challenge_resend(challenge_id=data["challenge"])
    return _challenge_answer(challenge, _("A new code is on its way."))


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.RefreshSerializer,
    responses={
        200: s.TokenPairSerializer,
        400: COMMON_ERRORS[400],
        401: OpenApiResponse(DETAIL, description=_("Expired, revoked or already used refresh token.")),
    },
    summary="Refresh the tokens",
    description=(
        "Each refresh token works once and is replaced by the new one returned. Using it again (after a "
        "few seconds' grace for requests that raced) ends the whole sign-in."
    ),
)
@api_view(["POST"])
@public_unthrottled
def token_refresh(request):
    data = _valid(s.RefreshSerializer, request)
    try:
        token = RefreshToken(data["refresh"])
    except TokenError as error:
        raise exceptions.AuthenticationFailed(_("This refresh token is not valid or has expired.")) from error
    with service_answers():
        family = account_services.refresh_rotate(
            family_id=token.get(FAMILY_CLAIM), jti=token.get("jti"), user_id=token.get("user_id")
        )
    return Response(pair_for_family(family))


@extend_schema(
    tags=TAG,
    request=None,
    responses={204: None, 401: OpenApiResponse(DETAIL)},
    summary="Sign out",
    description="Ends this sign-in; every access token of the account stops working at once.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def logout(request):
    account_services.api_sign_out(user=request.user, family_id=request.auth.get(FAMILY_CLAIM))
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.PasswordResetSerializer,
    responses={202: s.ChallengeStartedSerializer, **COMMON_ERRORS},
    summary="Ask for a password reset code",
    description="The answer is the same whether or not an account has this email.",
)
@api_view(["POST"])
@public
def password_reset(request):
    data = _valid(s.PasswordResetSerializer, request)
    challenge = account_services.password_reset_start(email=data["email"])
    return _challenge_answer(challenge, SENT)


@extend_schema(
    tags=TAG,
    auth=[],
    request=s.PasswordResetConfirmSerializer,
    responses={200: DETAIL, **COMMON_ERRORS},
    summary="Set a new password with the reset code",
    description="Every token of the account is revoked; sign in again with the new password.",
)
@api_view(["POST"])
@public
def password_reset_confirm(request):
    data = _valid(s.PasswordResetConfirmSerializer, request)
    with service_answers():
        account_services.password_reset_confirm(
            challenge_id=data["challenge"], code=data["code"], new_password=data["new_password"]
        )
    return Response({"detail": _("Your password was changed. Sign in with it.")})


@extend_schema(
    tags=TAG,
    request=s.PasswordChangeSerializer,
    responses={200: DETAIL, 401: OpenApiResponse(DETAIL), **COMMON_ERRORS},
    summary="Change the password",
    description="Every token of the account is revoked; sign in again with the new password.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(AUTH_THROTTLES)
def password_change(request):
    data = _valid(s.PasswordChangeSerializer, request)
    with service_answers():
        account_services.password_change(
            user=request.user, current_password=data["current_password"], new_password=data["new_password"]
        )
    return Response({"detail": _("Your password was changed. Sign in with it.")})


@extend_schema(
    tags=TAG,
    request=s.EmailChangeSerializer,
    responses={202: s.ChallengeStartedSerializer, 401: OpenApiResponse(DETAIL), **COMMON_ERRORS},
    summary="Change the primary email: send a code to the new address",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(AUTH_THROTTLES)
def email_change(request):
    data = _valid(s.EmailChangeSerializer, request)
    with service_answers():
        challenge = account_services.email_change_start(
            user=request.user, password=data["password"], new_email=data["new_email"]
        )
    return _challenge_answer(challenge, _("A code is on its way to the new address."))


@extend_schema(
    tags=TAG,
    request=s.CodeSerializer,
    responses={200: s.EmailChangedSerializer, 401: OpenApiResponse(DETAIL), **COMMON_ERRORS},
    summary="Change the primary email: verify the new address's code",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(AUTH_THROTTLES)
def email_change_verify(request):
    data = _valid(s.CodeSerializer, request)
    with service_answers():
        user = customer_services.app_email_change_verify(
            user=request.user, challenge_id=data["challenge"], code=data["code"]
        )
    return Response({"email": user.email_primary})
