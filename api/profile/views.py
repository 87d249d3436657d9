"""/api/v1/me/: the signed-in customer's own profile and photo. Thin views over the customers and
accounts services; the caller's customer record comes from api.permissions.caller_customer."""

from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, parser_classes, permission_classes, renderer_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.accounts import services as account_services
from portal.accounts.photos import PROFILE_PHOTO
from portal.customers import services as customer_services

from ..exceptions import ErrorSerializer
from ..permissions import IsCustomer, caller_customer
from ..renderers import FileRenderer
from . import serializers as s

TAG = ["profile"]
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not a customer signed in to the app.")),
}
SELF_SERVICE = set(customer_services.SELF_SERVICE_FIELDS)


def _profile(request, customer):
    return Response(s.ProfileSerializer(customer, context={"request": request}).data)


@extend_schema(tags=TAG, methods=["GET"], responses={200: s.ProfileSerializer, **ERRORS}, summary="Your profile")
@extend_schema(
    tags=TAG,
    methods=["PATCH"],
    request=s.ProfileChangeSerializer,
    responses={200: s.ProfileSerializer, 400: OpenApiResponse(ErrorSerializer), **ERRORS},
    summary="Change your profile",
    description=(
        "Change your name, secondary email, phone, address, city or birth date. Your ID cannot be changed here, "
        "and the primary email changes through POST /api/v1/auth/me/email/ once the new address is verified."
    ),
)
@api_view(["GET", "PATCH"])
@permission_classes([IsCustomer])
def me(request):
    customer = caller_customer(request)
    if request.method == "GET":
        return _profile(request, customer)
    serializer = s.ProfileChangeSerializer(customer, data=request.data, partial=True, context={"request": request})
    serializer.is_valid(raise_exception=True)
    changes = {name: value for name, value in serializer.validated_data.items() if name in SELF_SERVICE}
    customer = customer_services.customer_profile_update(customer=customer, actor=request.user, **changes)
    return _profile(request, customer)


@extend_schema(
    tags=TAG,
    methods=["GET"],
    responses={
        (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description=_("Your photo.")),
        (404, "application/json"): OpenApiResponse(ErrorSerializer, description=_("You have no photo.")),
        **{(code, "application/json"): answer for code, answer in ERRORS.items()},
    },
    summary="Your profile photo",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    request={"multipart/form-data": s.PhotoUploadSerializer},
    responses={
        (200, "application/json"): s.ProfileSerializer,
        (400, "application/json"): OpenApiResponse(ErrorSerializer, description=_("Not an acceptable photo.")),
        (413, "application/json"): OpenApiResponse(ErrorSerializer, description=_("The file is too large.")),
        **{(code, "application/json"): answer for code, answer in ERRORS.items()},
    },
    summary="Set your profile photo",
    description="A JPEG, PNG or WebP photo, checked by its content; it replaces the previous one.",
)
@extend_schema(
    tags=TAG,
    methods=["DELETE"],
    responses={204: None, **{(code, "application/json"): answer for code, answer in ERRORS.items()}},
    summary="Remove your profile photo",
)
@api_view(["GET", "POST", "DELETE"])
@permission_classes([IsCustomer])
@parser_classes([MultiPartParser])
@renderer_classes([JSONRenderer, FileRenderer])
def me_photo(request):
    customer = caller_customer(request)
    if request.method == "GET":
        photo = request.user.profile_photo
        if not photo:
            raise exceptions.NotFound(_("You have no profile photo."))
        response = FileResponse(PROFILE_PHOTO.storage().open(photo.name, "rb"))
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
    if request.method == "DELETE":
        account_services.user_profile_photo_remove(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    serializer = s.PhotoUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = account_services.user_profile_photo_set(user=request.user, upload=serializer.validated_data["photo"])
    customer.user = user
    return _profile(request, customer)
