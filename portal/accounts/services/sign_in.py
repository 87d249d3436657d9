"""Signing in to the API and what an account owner does to their own credentials: password check
(django-axes counts the failures and locks out), the second step by emailed code or authenticator
app, password reset by emailed code, password change, primary email change and verification."""

from axes.utils import reset as axes_reset
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp import user_has_device

from portal.audit.services import audit_record
from portal.notifications.services import email_queue

from ..models import OtpMethod, OtpPurpose, User, UserStatus
from .otp import otp_challenge_issue, otp_challenge_redeem
from .tokens import user_tokens_revoke


class SignInRefused(Exception):
    """Email and password do not open a sign-in; `locked_out` when django-axes refuses the address."""

    def __init__(self, message, *, locked_out=False):
        super().__init__(message)
        self.locked_out = locked_out


def password_check(*, request, email, password):
    """The user whose email and password these are (through Django's backends, so django-axes counts
    a failure and locks out, and the failure is audited), or SignInRefused."""
    user = authenticate(request, email=(email or "").strip().lower(), password=password or "")
    if getattr(request, "axes_locked_out", False):
        raise SignInRefused(_("Too many failed sign-ins from your address. Wait and try again."), locked_out=True)
    if user is None:
        raise SignInRefused(_("The email or password is not right, or the account is not active."))
    return user


@transaction.atomic
def sign_in_start(*, user):
    """The second step of an API sign-in: a code by email for customers, the authenticator app for staff."""
    if not user.is_staff_role:
        return otp_challenge_issue(user=user, purpose=OtpPurpose.SIGN_IN)
    if not user_has_device(user, confirmed=True):
        raise SignInRefused(_("Set up your authenticator app in the portal before signing in to the API."))
    return otp_challenge_issue(user=user, purpose=OtpPurpose.SIGN_IN, method=OtpMethod.TOTP)


def sign_in_verify(*, challenge_id, code):
    """The user signing in, once the code of their sign-in challenge is right."""
    return otp_challenge_redeem(challenge_id=challenge_id, code=code, purposes=[OtpPurpose.SIGN_IN], apply=_signed_in)


@transaction.atomic
def _signed_in(challenge):
    user = User.objects.select_for_update().get(pk=challenge.user_id)
    if not user.is_active:
        raise ValidationError(_("This account cannot sign in."))
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    # As after a portal sign-in (AXES_RESET_ON_SUCCESS): the failures before this one are forgiven.
    axes_reset(username=user.email_primary)
    metadata = {"channel": "api", "method": challenge.method}
    audit_record(actor=user, action="auth.sign_in", target=user, metadata=metadata)
    return user


@transaction.atomic
def user_email_verify(*, user):
    """The first code of a sign-up was right: the account is active from now on."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status != UserStatus.PENDING_VERIFICATION:
        raise ValidationError(_("This account is already verified; sign in instead."))
    user.status = UserStatus.ACTIVE
    user.save(update_fields=["status"])
    user.refresh_from_db(fields=["is_active"])
    audit_record(actor=user, action="user.verified", target=user, metadata={"email": user.email_primary})
    return user


# --- password -------------------------------------------------------------------------------------


def _password_validate(password, user):
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from error


@transaction.atomic
def _password_set(*, user, password, reason):
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action=f"auth.{reason}", target=user, metadata={"channel": "api"})
    return user_tokens_revoke(user=user, reason=reason)


@transaction.atomic
def password_reset_start(*, email):
    """A code to reset the password of the active account with this email; a decoy challenge when
    there is none, so the answer is the same either way."""
    email = (email or "").strip().lower()
    user = User.objects.filter(email_primary__iexact=email, status=UserStatus.ACTIVE).first()
    return otp_challenge_issue(user=user, purpose=OtpPurpose.PASSWORD_RESET, email=email)


def password_reset_confirm(*, challenge_id, code, new_password):
    """Set a new password with the emailed code; every API token of the account is revoked."""
    challenge_user = User.objects.filter(
        otp_challenges__pk=challenge_id, otp_challenges__purpose=OtpPurpose.PASSWORD_RESET
    ).first()
    _password_validate(new_password, challenge_user)
    return otp_challenge_redeem(
        challenge_id=challenge_id,
        code=code,
        purposes=[OtpPurpose.PASSWORD_RESET],
        apply=lambda challenge: _password_set(user=challenge.user, password=new_password, reason="password_reset"),
    )


@transaction.atomic
def password_change(*, user, current_password, new_password):
    """A signed-in user's new password; every API token of theirs is revoked (they sign in again)."""
    if not user.check_password(current_password or ""):
        raise ValidationError({"current_password": _("Your current password is not right.")})
    _password_validate(new_password, user)
    return _password_set(user=user, password=new_password, reason="password_changed")


# --- primary email --------------------------------------------------------------------------------


@transaction.atomic
def email_change_start(*, user, password, new_email):
    """A code to the new address; the email changes only once it comes back."""
    if not user.check_password(password or ""):
        raise ValidationError({"password": _("Your password is not right.")})
    new_email = (new_email or "").strip().lower()
    if new_email == user.email_primary.lower():
        raise ValidationError({"new_email": _("This is already your email.")})
    return otp_challenge_issue(
        user=user, purpose=OtpPurpose.EMAIL_CHANGE, email=new_email, payload={"new_email": new_email}
    )


@transaction.atomic
def user_email_change(*, user, new_email):
    """Make `new_email` (verified by its code) the user's primary email; the old address is told."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if User.objects.filter(email_primary__iexact=new_email).exclude(pk=user.pk).exists():
        raise ValidationError({"new_email": _("Another account already uses this email.")})
    previous = user.email_primary
    user.email_primary = new_email
    user.save(update_fields=["email_primary"])
    audit_record(actor=user, action="user.email_changed", target=user, metadata={"from": previous, "to": new_email})
    with translation.override(user.language or translation.get_language()):
        email_queue(
            to=[previous],
            subject=_("Your Amparo email was changed"),
            body=render_to_string("accounts/emails/email_changed.txt", {"user": user, "new_email": new_email}),
        )
    return user
