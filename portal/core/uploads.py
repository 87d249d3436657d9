"""How large a request body may be, checked from its Content-Length before anything reads it.

Django spools uploaded files to disk as it parses them; a cap applied by a form comes after the whole
body has arrived. `RequestBodyLimitMiddleware` refuses an oversized request with 413 before the CSRF
check (the first thing that would read the body). Every view takes at most
`AMPARO_REQUEST_BODY_MAX_MB` unless it declares a larger setting of its own with `@body_limit`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class BodyLimit:
    setting_name: str
    # What the form's other fields and multipart boundaries may add to the files the setting counts.
    allowance: int = 0
    # `message(declared_bytes)`: what the refusal says, in the page's own words; a general one otherwise.
    message: Callable[[int], str] | None = None

    def limit(self):
        return getattr(settings, self.setting_name) + self.allowance


DEFAULT_LIMIT = BodyLimit("AMPARO_REQUEST_BODY_MAX_BYTES")


def body_limit(setting_name, *, allowance=0, message=None):
    """Let the decorated view take bodies up to `settings.<setting_name>` bytes (plus `allowance`)."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        wrapped.body_limit = BodyLimit(setting_name, allowance, message)
        return wrapped

    return decorate


def _declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def request_too_large(request, spec):
    declared = _declared_length(request)
    if spec.message is not None:
        message = spec.message(declared)
    else:
        message = _("The request is %(size)s; the most this page accepts is %(max)s.") % {
            "size": filesizeformat(declared),
            "max": filesizeformat(spec.limit()),
        }
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return render(request, "413.html", {"reason": message}, status=413)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        spec = getattr(view_func, "body_limit", DEFAULT_LIMIT)
        if _declared_length(request) > spec.limit():
            return request_too_large(request, spec)
        return None
