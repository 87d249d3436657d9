"""`Idempotency-Key` for the API's creating endpoints (quotes, claims, payments): the same key and body
get the first answer again (with `Idempotent-Replayed: true`), the same key with another body is 422,
and one still running is 409. The bookkeeping is portal.core.idempotency; this is its HTTP side.

Put `@idempotent` under `@api_view` and `@permission_classes` (it needs the authenticated caller),
and name `IDEMPOTENCY_PARAMETER` and `IDEMPOTENCY_ERRORS` in the endpoint's `extend_schema`.
"""

import hashlib
import json
from functools import wraps

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from portal.core.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    idempotency_abandon,
    idempotency_begin,
    idempotency_complete,
)

from .exceptions import Conflict, ErrorSerializer, Unprocessable

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=str(
        _(
            "A unique key per operation (a UUID): a retry with the same key and body gets the first answer "
            "again instead of doing it twice."
        )
    ),
)
IDEMPOTENCY_ERRORS = {
    409: OpenApiResponse(ErrorSerializer, description=_("A request with this Idempotency-Key is still running.")),
    422: OpenApiResponse(ErrorSerializer, description=_("This Idempotency-Key was used for another request.")),
}


def _key(request):
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise exceptions.ValidationError(
            {HEADER: [_("Give 1 to %(max)d printable ASCII characters.") % {"max": MAX_KEY_LENGTH}]}
        )
    return key


def request_fingerprint(request):
    """What makes two requests the same one: method, path, query and body (uploaded files by content)."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    data = request.data
    if hasattr(data, "lists"):
        for name, values in sorted(data.lists()):
            for value in values:
                digest.update(f"{name}=".encode())
                if hasattr(value, "chunks"):
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(str(value).encode())
                digest.update(b"\n")
    else:
        digest.update(json.dumps(data, sort_keys=True, cls=JSONEncoder, separators=(",", ":")).encode())
    return digest.hexdigest()


def idempotent(view):
    """Run `view` at most once per caller and Idempotency-Key (optional header), keeping its answer."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        key = _key(request) if request.method not in SAFE_METHODS else None
        if key is None:
            return view(request, *args, **kwargs)
        try:
            record, replay = idempotency_begin(user=request.user, key=key, fingerprint=request_fingerprint(request))
        except IdempotencyKeyInUse as error:
            raise Conflict(str(error)) from error
        except IdempotencyKeyReused as error:
            raise Unprocessable(str(error)) from error
        if replay:
            response = Response(record.response_body, status=record.response_status)
            response[REPLAYED_HEADER] = "true"
            return response
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            idempotency_abandon(record=record)
            raise
        if 200 <= response.status_code < 300:
            body = json.loads(json.dumps(response.data, cls=JSONEncoder))
            idempotency_complete(record=record, status=response.status_code, body=body)
        else:
            idempotency_abandon(record=record)
        return response

    return wrapped
