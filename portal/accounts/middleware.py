from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

# Pages a signed-in user can reach before passing the second factor.
EXEMPT_URL_NAMES = frozenset(
    {
        "accounts:two_factor_setup",
        "accounts:two_factor_verify",
        "account_logout",
        "set_language",
        "healthz",
        "readyz",
        "metrics",
    }
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


# The customers' app says its language as phones do, with Accept-Language; the staff portal does not listen to it.
API_PATH_PREFIX = "/api/"


def chosen_language(request):
    """The request's language: the signed-in user's preference, else the one picked with the language
    switch on this browser (its cookie), else the portal's default, Spanish (Colombia).

    Browsers' Accept-Language is not consulted for portal pages: the insurer's staff work in Spanish
    on machines whose browsers often ship in English, and the complaint was exactly a portal that opened
    in English. API requests (the customers' app) do follow it after the cookie.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language:
        return user.language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie:
        try:
            return translation.get_supported_language_variant(cookie)
        except LookupError:
            pass
    if request.path.startswith(API_PATH_PREFIX):
        return translation.get_language_from_request(request)
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    """Activates `chosen_language` for the request (in place of Django's LocaleMiddleware, which would
    follow Accept-Language), and keeps a signed-in user's preference in the language cookie so that
    the pages after signing out (the sign-in form) stay in it on that browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ["Accept-Language"] if request.path.startswith(API_PATH_PREFIX) else ["Cookie"])
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        user = getattr(request, "user", None)
        preference = user.language if user is not None and user.is_authenticated else ""
        if preference and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != preference:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                preference,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
