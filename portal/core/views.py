from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import database_is_up, queue_is_up
from .readiness import readiness


@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_is_up(), "queue": queue_is_up()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **{name: "ok" if up else "down" for name, up in checks.items()}},
        status=200 if healthy else 503,
    )


def _api_request(request):
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    """Django's 404 page, or for the API's paths its JSON refusal (an id that is not a number, a path
    that does not exist)."""
    if _api_request(request):
        return JsonResponse({"detail": str(_("Not found."))}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api_request(request):
        return JsonResponse({"detail": str(_("Something went wrong on our side. Try again later."))}, status=500)
    return defaults.server_error(request)


@never_cache
@require_GET
def readyz(request):
    problems = readiness()
    ready = not any(problems.values())
    return JsonResponse(
        {
            "status": "ready" if ready else "unavailable",
            "checks": {name: problem or "ok" for name, problem in problems.items()},
        },
        status=200 if ready else 503,
    )
