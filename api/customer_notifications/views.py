"""/api/v1/notifications/ and /api/v1/devices/: what the customer was told (receipts, reminders, renewal
notices, claim moves) as a feed with read and unread, and the phones push notifications would go to."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.core.db_router import api_reads_from_replica
from portal.notifications.selectors import notification_rows, notifications_described
from portal.notifications.services import notifications_mark_all_read, notifications_mark_read, push_device_register

from ..customer import ERRORS, INVALID, NOT_FOUND
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, PagePagination, page_of
from ..permissions import IsCustomer, caller_customer
from . import serializers as s

TAG = ["notifications"]


@extend_schema(
    tags=TAG,
    parameters=[
        OpenApiParameter("unread", OpenApiTypes.BOOL, description=_("Only the unread ones.")),
        *PAGE_PARAMETERS,
    ],
    responses={200: page_of(s.NotificationSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your notifications",
    description=(
        "The receipts, overdue reminders and renewal notices you were emailed and your claims' status changes, "
        "newest first, each read or unread, in pages; ?unread=true and the count give the unread ones."
    ),
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
@api_reads_from_replica
def notification_list(request):
    unread = request.query_params.get("unread", "false").lower()
    if unread not in ("true", "false", "1", "0"):
        raise exceptions.ValidationError({"unread": [_("Give true or false.")]})
    unread_only = unread in ("true", "1")
    rows = notification_rows(caller_customer(request), request.user, unread_only=unread_only)
    paginator = PagePagination()
    page = notifications_described(paginator.paginate_queryset(rows, request))
    return paginator.get_paginated_response(s.NotificationSerializer(page, many=True).data)


@extend_schema(
    tags=TAG,
    request=s.MarkReadSerializer,
    responses={200: s.MarkedSerializer, **INVALID, **NOT_FOUND, **ERRORS},
    summary="Mark notifications read",
    description="The ones given by id (all must be yours, or none is marked), or everything so far with all: true.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, IsCustomer])
def notifications_read(request):
    serializer = s.MarkReadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    if data["all"]:
        notifications_mark_all_read(user=request.user)
        return Response({"marked": None})
    try:
        marked = notifications_mark_read(user=request.user, customer=caller_customer(request), ids=data["ids"])
    except ObjectDoesNotExist as error:
        raise exceptions.NotFound(_("Some of these notifications are not yours.")) from error
    return Response({"marked": marked})


@extend_schema(
    tags=TAG,
    request=s.DeviceSerializer,
    responses={
        201: OpenApiResponse(s.DeviceSerializer, description=_("A phone new to us.")),
        200: OpenApiResponse(s.DeviceSerializer, description=_("A phone already registered: seen again.")),
        **INVALID,
        **ERRORS,
    },
    summary="Register this phone for push notifications",
    description="The push token the phone's platform (APNs or FCM) gave the app; sending it again is harmless.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, IsCustomer])
def device_register(request):
    serializer = s.DeviceSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    device, created = push_device_register(user=request.user, platform=data["platform"], token=data["token"])
    return Response(s.DeviceSerializer(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
