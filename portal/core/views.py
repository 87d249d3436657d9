from django.http import JsonResponse
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
