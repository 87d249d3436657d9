"""Authentication signals are where Django reports sign-ins; they only hand over to services."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="accounts.audit_sign_in")
def audit_sign_in(sender, request, user, **kwargs):
    services.auth_event_record(action="auth.sign_in", user=user)


@receiver(user_logged_out, dispatch_uid="accounts.audit_sign_out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        services.auth_event_record(action="auth.sign_out", user=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials` with asterisks.
    email = credentials.get("email") or credentials.get("username") or ""
    services.auth_event_record(action="auth.sign_in_failed", email=str(email))


@receiver(user_locked_out, dispatch_uid="accounts.audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs):
    services.auth_event_record(action="auth.locked_out", email=str(username or ""))
