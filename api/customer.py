"""What the customer endpoints share besides the foundation (api.permissions, api.exceptions): the
services' Conflict as 409, and the refusals every customer endpoint documents."""

from contextlib import contextmanager

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from portal.core.exceptions import Conflict as ServiceConflict

from .exceptions import Conflict, ErrorSerializer


@contextmanager
def service_answers():
    """A service's Conflict (the record is no longer in a state that allows the action) as 409; its
    other ValidationErrors are 400 with field errors through the API's exception handler."""
    try:
        yield
    except ServiceConflict as error:
        raise Conflict(" ".join(error.messages)) from error


ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not a customer's app account.")),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description=_("Not one of your records."))}
INVALID = {400: OpenApiResponse(ErrorSerializer, description=_("Invalid input: the detail and field errors."))}


def _strict(field_class, *types):
    """`field_class` taking only the JSON types its schema names (DRF would turn 12 into "12")."""

    class Strict(field_class):
        def to_internal_value(self, data):
            if isinstance(data, bool) != (bool in types) or not isinstance(data, types):
                self.fail("invalid")
            return super().to_internal_value(data)

    Strict.__name__ = Strict.__qualname__ = f"Strict{field_class.__name__}"
    return Strict


StrictCharField = _strict(serializers.CharField, str)
StrictDecimalField = _strict(serializers.DecimalField, str)
StrictIntegerField = _strict(serializers.IntegerField, int)
StrictBooleanField = _strict(serializers.BooleanField, bool)
