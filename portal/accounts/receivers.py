"""Authentication signals are where Django reports sign-ins; they only hand over to services."""

from allauth.account.signals import password_changed, password_reset, password_set
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


@receiver(password_changed, dispatch_uid="accounts.revoke_tokens_password_changed")
@receiver(password_set, dispatch_uid="accounts.revoke_tokens_password_set")
@receiver(password_reset, dispatch_uid="accounts.revoke_tokens_password_reset")
def revoke_api_tokens_on_password_change(sender, request, user, **kwargs):
    # A new password set in the portal ends every API sign-in made with the old one.
    services.user_tokens_revoke(user=user, reason="password_changed")
