"""Every refusal of the API as `{"detail": "..."}`, with `"errors": {field: [messages]}` added when
the input was invalid; the status is the one HTTP means (400 bad input, 401 no valid token, 403 not
allowed, 404 not found or not yours, 405, 409 conflict (a service's portal.core.exceptions.Conflict: the
record's state changed), 413 too large, 415 unsupported media type,
422 well-formed but unprocessable, 429 too many requests). Messages follow the request's language
(Accept-Language for the app: portal.accounts.middleware.LanguageMiddleware)."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler

from portal.core.exceptions import Conflict as StateConflict


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This conflicts with the current state of the resource.")
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This request cannot be processed.")
    default_code = "unprocessable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


class InsufficientScope(exceptions.PermissionDenied):
    """A valid token without the scope the resource needs: 403 with the challenge RFC 6750 §3.1 gives
    it, naming the scope."""

    def __init__(self, scope, detail=None):
        super().__init__(detail)
        self.scope = scope


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal (the OpenAPI component the endpoints name for their errors)."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=_("Messages per field of the request, when the input was invalid."),
    )


def _messages(value):
    """Flatten DRF's nested error structure into a list of strings."""
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def _field_errors(data):
    """{field: [messages]}; nested fields are named with dots ("items.0.amount")."""
    errors = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for name, item in value.items():
                walk(f"{prefix}.{name}" if prefix else str(name), item)
        elif isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            for index, item in enumerate(value):
                if item:
                    walk(f"{prefix}.{index}" if prefix else str(index), item)
        else:
            errors.setdefault(prefix or "non_field_errors", []).extend(_messages(value))

    walk("", data)
    return errors


def api_exception_handler(exc, context):
    if isinstance(exc, StateConflict):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, InsufficientScope):
        response["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(response.data)
        general = errors.pop("non_field_errors", [])
        detail = general[0] if general else str(_("The request has invalid fields."))
        response.data = {"detail": detail, "errors": errors} if errors else {"detail": detail}
    elif not (isinstance(response.data, dict) and set(response.data) == {"detail"}):
        response.data = {"detail": " ".join(_messages(response.data))}
    return response
