"""What every customer endpoint shares: who may call it (an app account linked to its customer record),
that customer, the services' refusals as HTTP answers, and the errors the schema documents."""

from contextlib import contextmanager

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission

from portal.accounts.models import Role
from portal.core.exceptions import Conflict

from .auth.serializers import DetailSerializer


def caller_customer(request):
    """The customer record of the signed-in app account, or None (staff, or an account not linked yet)."""
    user = request.user
    if not (user and user.is_authenticated and user.role == Role.CLIENT):
        return None
    try:
        return user.customer
    except ObjectDoesNotExist:
        return None


class IsCustomer(BasePermission):
    message = _("This is for customers signed in to the app.")

    def has_permission(self, request, view):
        return caller_customer(request) is not None


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The record changed meanwhile; load it again.")
    default_code = "conflict"


@contextmanager
def service_answers():
    """The services' refusals as the HTTP answers they mean: 409 for a record no longer in a state that
    allows the action, 400 with field errors for bad input (PermissionDenied is DRF's 403 already)."""
    try:
        yield
    except Conflict as error:
        raise ConflictError(" ".join(error.messages)) from error
    except ValidationError as error:
        raise exceptions.ValidationError(serializers.as_serializer_error(error)) from error


ERRORS = {
    401: OpenApiResponse(DetailSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(DetailSerializer, description=_("Not a customer's app account.")),
}
NOT_FOUND = {404: OpenApiResponse(DetailSerializer, description=_("Not one of your records."))}
INVALID = {400: OpenApiResponse(description=_("Invalid input: field errors, or a detail."))}
