"""What the customer endpoints share besides the foundation (api.permissions, api.exceptions): the
services' Conflict as 409, and the refusals every customer endpoint documents."""

from contextlib import contextmanager

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse

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
