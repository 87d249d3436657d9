from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .access import address_allowed, bearer_token, token_matches
from .registry import metrics_registry


@never_cache
@require_GET
def metrics(request):
    presented = bearer_token(request)
    if not (token_matches(presented) or address_allowed(request)):
        if presented:
            response = HttpResponse("Wrong metrics token.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(
            "Metrics need a bearer token or an allowed address.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
