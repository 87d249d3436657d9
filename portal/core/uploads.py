"""How large a request body may be, checked from its Content-Length before anything reads it.

Django spools uploaded files to disk as it parses them; a cap applied by a form comes after the whole
body has arrived. `RequestBodyLimitMiddleware` refuses an oversized request with 413 before the CSRF
check (the first thing that would read the body). Every view takes at most
`AMPARO_REQUEST_BODY_MAX_MB` unless it declares a larger setting of its own with `@body_limit`.
"""

from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

DEFAULT_SETTING = "AMPARO_REQUEST_BODY_MAX_BYTES"


def body_limit(setting_name):
    """Let the decorated view take bodies up to the number of bytes in `settings.<setting_name>`."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        wrapped.body_limit_setting = setting_name
        return wrapped

    return decorate


def _declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def request_too_large(request, limit):
    message = _("The request is %(size)s; the most this page accepts is %(max)s.") % {
        "size": filesizeformat(_declared_length(request)),
        "max": filesizeformat(limit),
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
        limit = getattr(settings, getattr(view_func, "body_limit_setting", DEFAULT_SETTING))
        if _declared_length(request) > limit:
            return request_too_large(request, limit)
        return None
