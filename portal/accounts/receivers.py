"""Authentication signals are where Django reports sign-ins; they only hand over to services."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="accounts.audit_sign_in")
def audit_sign_in(sender, request, user, **kwargs):
    services.sign_in_record(user=user)


@receiver(user_logged_out, dispatch_uid="accounts.audit_sign_out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        services.sign_out_record(user=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials` with asterisks.
    email = credentials.get("email") or credentials.get("username") or ""
    services.sign_in_failed_record(email=str(email).strip().lower())


@receiver(user_locked_out, dispatch_uid="accounts.audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs):
    services.lockout_record(email=str(username or "").strip().lower())
