"""One-time codes: a challenge waits for a 6-digit code sent by email (or, for staff signing in to the
API, the code of their authenticator app). Codes are kept only as a keyed hash bound to their
challenge, expire, die after too many wrong tries, and are resent only after a cooldown."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import match_token

from portal.audit.services import audit_record
from portal.notifications.services import email_queue

from ..models import OtpChallenge, OtpMethod, OtpPurpose

CODE_DIGITS = 6
HASH_SALT = "portal.accounts.otp"

# What the email says the code is for.
SUBJECTS = {
    OtpPurpose.SIGN_UP: gettext_lazy("Your Amparo sign-up code"),
    OtpPurpose.SIGN_IN: gettext_lazy("Your Amparo sign-in code"),
    OtpPurpose.PASSWORD_RESET: gettext_lazy("Your Amparo password reset code"),
    OtpPurpose.EMAIL_CHANGE: gettext_lazy("Confirm your new Amparo email"),
}


class OtpRefused(ValidationError):
    """The code (or the challenge) cannot be used; nothing but the wrong try was recorded."""


class OtpCooldown(ValidationError):
    """A new code was asked for too soon; `wait` seconds are left."""

    def __init__(self, message, *, wait):
        super().__init__(message)
        self.wait = wait


def _new_code():
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _code_hash(challenge_id, code):
    return salted_hmac(HASH_SALT, f"{challenge_id}:{code}", algorithm="sha256").hexdigest()


def _expiry(now):
    return now + timedelta(seconds=settings.AMPARO_OTP_TTL_SECONDS)


def _send(challenge, code):
    """Queue the email with the code: the worker sends it once this transaction commits."""
    user = challenge.user
    language = user.language or translation.get_language() or settings.LANGUAGE_CODE
    minutes = settings.AMPARO_OTP_TTL_SECONDS // 60
    with translation.override(language):
        subject = str(SUBJECTS[challenge.purpose])
        body = render_to_string(
            "accounts/emails/otp_code.txt",
            {"user": user, "code": code, "minutes": minutes, "purpose": challenge.get_purpose_display()},
        )
    email_queue(to=[challenge.email], subject=subject, body=body)


def _audit(challenge, action, **metadata):
    metadata = {"purpose": challenge.purpose, "challenge": str(challenge.pk), **metadata}
    if challenge.user is not None:
        audit_record(actor=challenge.user, action=action, target=challenge.user, metadata=metadata)
    else:
        audit_record(actor=None, actor_label=challenge.email, action=action, metadata={**metadata, "decoy": True})


@transaction.atomic
def otp_challenge_issue(*, user, purpose, email=None, method=OtpMethod.EMAIL, payload=None):
    """A new challenge for `user`, its code emailed to `email` (their primary address by default).

    Earlier pending challenges of the same user and purpose die: only the newest code works. With
    `user` None the challenge is a decoy: it looks the same from outside, nothing is sent, and no
    code ever matches it.
    """
    now = timezone.now()
    if user is not None:
        OtpChallenge.objects.filter(user=user, purpose=purpose, status=OtpChallenge.Status.PENDING).update(
            status=OtpChallenge.Status.DEAD
        )
    challenge = OtpChallenge(
        user=user,
        purpose=purpose,
        method=method,
        email=(email or (user.email_primary if user else "")).strip().lower(),
        payload=payload or {},
        expires_at=_expiry(now),
    )
    if method == OtpMethod.EMAIL:
        challenge.sends = 1
        challenge.last_sent_at = now
    code = _new_code()
    if user is not None and method == OtpMethod.EMAIL:
        challenge.code_hash = _code_hash(challenge.pk, code)
    challenge.save()
    if user is not None and method == OtpMethod.EMAIL:
        _send(challenge, code)
    if user is None:
        action = "auth.otp_withheld"
    else:
        action = "auth.otp_sent" if method == OtpMethod.EMAIL else "auth.otp_started"
    _audit(challenge, action, method=method)
    return challenge


def _cooldown_left(challenge, now):
    if challenge.last_sent_at is None:
        return 0
    ready = challenge.last_sent_at + timedelta(seconds=settings.AMPARO_OTP_RESEND_COOLDOWN_SECONDS)
    return max(0, int((ready - now).total_seconds() + 0.999))


def otp_challenge_resend(*, challenge_id):
    """A fresh code for a pending emailed challenge (the earlier code stops working), after the cooldown.

    Wrong tries are not forgiven by a new code: the challenge still dies at the fifth.
    """
    with transaction.atomic():
        challenge = (
            OtpChallenge.objects.select_for_update(of=("self",)).select_related("user").filter(pk=challenge_id).first()
        )
        now = timezone.now()
        if challenge is None or challenge.status != OtpChallenge.Status.PENDING:
            raise OtpRefused(_("This code can no longer be used. Start again to get a new one."))
        if challenge.method != OtpMethod.EMAIL:
            raise OtpRefused(_("Nothing is sent for this step: type the code your authenticator app shows."))
        wait = _cooldown_left(challenge, now)
        if wait:
            message = _("Wait %(seconds)d seconds before asking for another code.") % {"seconds": wait}
            raise OtpCooldown(message, wait=wait)
        if challenge.sends >= settings.AMPARO_OTP_MAX_SENDS:
            raise OtpRefused(_("Too many codes were sent for this step. Start again."))
        code = _new_code()
        challenge.sends = F("sends") + 1
        challenge.last_sent_at = now
        challenge.expires_at = _expiry(now)
        if challenge.user is not None:
            challenge.code_hash = _code_hash(challenge.pk, code)
        challenge.save(update_fields=["sends", "last_sent_at", "expires_at", "code_hash"])
        challenge.refresh_from_db(fields=["sends"])
        if challenge.user is not None:
            _send(challenge, code)
        action = "auth.otp_sent" if challenge.user is not None else "auth.otp_withheld"
        _audit(challenge, action, method=challenge.method, resend=True)
    return challenge


def _code_matches(challenge, code):
    code = "".join(str(code or "").split())
    if not (len(code) == CODE_DIGITS and code.isdigit()) or challenge.user is None:
        return False
    if challenge.method == OtpMethod.TOTP:
        return match_token(challenge.user, code) is not None
    return bool(challenge.code_hash) and constant_time_compare(_code_hash(challenge.pk, code), challenge.code_hash)


def otp_challenge_redeem(*, challenge_id, code, purposes, apply, user=None):
    """Check `code` against the challenge and, when it is right, use the challenge up and return
    `apply(challenge)`, all in one transaction (an error in `apply` leaves the challenge unused).

    A wrong code is recorded (and commits) before OtpRefused is raised; at the
    AMPARO_OTP_MAX_ATTEMPTS-th the challenge is dead. `purposes` are the steps the caller completes;
    `user`, when given, must own the challenge. Not atomic itself on purpose: a caller's transaction
    would roll the wrong try back with the refusal.
    """
    with transaction.atomic():
        challenge = (
            OtpChallenge.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=challenge_id, purpose__in=purposes)
            .first()
        )
        if challenge is not None and user is not None and challenge.user_id != user.pk:
            challenge = None
        refusal = _refusal(challenge, code)
        if refusal is None:
            challenge.status = OtpChallenge.Status.USED
            challenge.used_at = timezone.now()
            challenge.save(update_fields=["status", "used_at"])
            result = apply(challenge)
            _audit(challenge, "auth.otp_verified", method=challenge.method)
    if refusal is not None:
        raise OtpRefused(refusal)
    return result


def _refusal(challenge, code):
    """Why the code is refused (recording a wrong try or an expiry on the challenge), or None."""
    if challenge is None:
        return _("This code is not valid. Start again to get a new one.")
    if challenge.status != OtpChallenge.Status.PENDING:
        return _("This code can no longer be used. Start again to get a new one.")
    if challenge.expires_at <= timezone.now():
        # The challenge stays: otp/resend/ gives it a new code (within AMPARO_OTP_MAX_SENDS).
        _audit(challenge, "auth.otp_failed", reason="expired")
        return _("This code has expired. Ask for a new one.")
    if _code_matches(challenge, code):
        return None
    challenge.failed_attempts += 1
    left = settings.AMPARO_OTP_MAX_ATTEMPTS - challenge.failed_attempts
    if left <= 0:
        challenge.status = OtpChallenge.Status.DEAD
    challenge.save(update_fields=["failed_attempts", "status"])
    _audit(challenge, "auth.otp_failed", reason="wrong_code", attempts=challenge.failed_attempts)
    if left <= 0:
        _audit(challenge, "auth.otp_locked")
        return _("Too many wrong codes. This code can no longer be used; start again.")
    return _("That code is not right. %(left)d tries left.") % {"left": left}
