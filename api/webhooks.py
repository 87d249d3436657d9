"""Payment-gateway webhooks: thin views over the gateways services."""

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from portal.gateways.events import MAX_EVENT_BYTES
from portal.gateways.services import wompi_event_receive


def _detail(status, message, **headers):
    response = JsonResponse({"detail": str(message)}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _bounded_body(request):
    """The body when it fits MAX_EVENT_BYTES, else None. The declared length is checked before
    anything is read, and no more than one byte past the limit is ever read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = MAX_EVENT_BYTES + 1
    if declared > MAX_EVENT_BYTES:
        return None
    body = request.read(MAX_EVENT_BYTES + 1)
    return body if len(body) <= MAX_EVENT_BYTES else None


@csrf_exempt
def wompi_webhook(request):
    """POST /api/v1/webhooks/wompi/: one delivery of a Wompi event.

    200 when the event is stored (and queued for the worker to apply) or recognised as a repeat:
    Wompi stops resending.
    400 when the body is not a well-formed event; 401 when its checksum is wrong, its signature
    names other properties than Wompi signs, or it is too old; 413 when it is too large to be one;
    429 when its address has sent too many deliveries that are not applied. Nothing is applied in
    those cases.
    """
    if request.method != "POST":
        return _detail(405, _("Wompi events are sent with POST."), Allow="POST")
    body = _bounded_body(request)
    if body is None:
        return _detail(413, _("An event is at most %(limit)d bytes.") % {"limit": MAX_EVENT_BYTES})
    try:
        outcome = wompi_event_receive(body=body, header_checksum=request.headers.get("X-Event-Checksum", ""))
    except ValidationError as error:
        return _detail(400, " ".join(error.messages))
    if outcome.throttled:
        return _detail(429, outcome.detail)
    if not outcome.verified:
        return _detail(401, outcome.detail)
    return JsonResponse({"status": "duplicate" if outcome.duplicate else outcome.status.lower()})
