from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

# Pages a signed-in user can reach before passing the second factor.
EXEMPT_URL_NAMES = frozenset(
    {"accounts:two_factor_setup", "accounts:two_factor_verify", "account_logout", "set_language", "healthz"}
)


def second_factor_required(user):
    """Staff must pass a TOTP check when 2FA is required, or whenever they have enrolled a device."""
    if not user.is_authenticated or not user.is_staff_role:
        return False
    # OTPMiddleware adds is_verified to request.user; a user object just signed in has not got it yet.
    if getattr(user, "is_verified", lambda: False)():
        return False
    return settings.AMPARO_REQUIRE_2FA or user_has_device(user, confirmed=True)


def second_factor_pending(request):
    """`second_factor_required` for the request's user, worked out once per request and user
    (signing in during the request changes the user)."""
    user_pk, pending = getattr(request, "_second_factor_pending", (None, None))
    if pending is None or user_pk != request.user.pk:
        pending = second_factor_required(request.user)
        request._second_factor_pending = (request.user.pk, pending)
    return pending


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name in EXEMPT_URL_NAMES or not second_factor_pending(request):
            return None
        name = "accounts:two_factor_verify" if user_has_device(request.user) else "accounts:two_factor_setup"
        target = f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        return redirect(target)
