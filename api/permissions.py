"""Who may call the customers' endpoints, and which customer record the caller is."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from portal.accounts.models import Role
from portal.customers.selectors import customer_of_account


def _linked_customer(request):
    """The caller's customer record, read once per request; None for staff, anonymous callers and an
    app account linked to no record."""
    if not hasattr(request, "_caller_customer"):
        user = request.user
        linked = user is not None and user.is_authenticated and user.role == Role.CLIENT
        request._caller_customer = customer_of_account(user) if linked else None
    return request._caller_customer


class IsCustomer(BasePermission):
    """A customer signed in to the app whose account is linked to their customer record; staff and
    anyone else get 403 (401 without a valid token)."""

    message = _("This is for customers signed in to the app.")

    def has_permission(self, request, view):
        return _linked_customer(request) is not None


def caller_customer(request):
    """The caller's own customer record (403 when there is none; views use it after IsCustomer)."""
    customer = _linked_customer(request)
    if customer is None:
        raise exceptions.PermissionDenied(IsCustomer.message)
    return customer
