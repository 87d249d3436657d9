"""/api/v1/bordereaux/: cedants' systems push bordereau files and follow their imports, signed in with
OAuth2 client credentials against our own authorization server (`oauth/token/`, django-oauth-toolkit).
A client acts for its one source: the same upload checks, duplicate-file refusal, import, error report
and rows as the portal's, and nothing of another source (404)."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from portal.core.uploads import body_limit
from portal.ingestion.fields import Kind
from portal.ingestion.forms import too_large_to_upload
from portal.ingestion.models import ClaimRow, ImportJob, RiskRow, RowError
from portal.ingestion.services import import_job_create, period_from_text

from .exceptions import ErrorSerializer, InsufficientScope, PayloadTooLarge, Unprocessable
from .pagination import paginated_response

TAG = ["bordereaux"]
WRITE, READ = "bordereaux:write", "bordereaux:read"


class ClientCredentialsAuthentication(OAuth2Authentication):
    """A client-credentials token has no user: the request runs as anonymous, the token says who."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, token = found
        return (user or AnonymousUser(), token)


class ClientCredentialsScheme(OpenApiAuthenticationExtension):
    target_class = ClientCredentialsAuthentication
    name = "cedantOAuth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/api/v1/oauth/token/",
                    "scopes": dict(settings.OAUTH2_PROVIDER["SCOPES"]),
                }
            },
        }


def scope_required(scope):
    class HasScope(BasePermission):
        message = _("This token does not carry the %(scope)s scope.") % {"scope": scope}

        def has_permission(self, request, view):
            token = request.auth
            if token is None or not hasattr(token, "allow_scopes"):
                return False
            if not token.allow_scopes([scope]):
                raise InsufficientScope(scope, self.message)
            return _client_source(request) is not None

    return HasScope


def _client_source(request):
    client = getattr(request.auth.application, "bordereau_client", None) if request.auth is not None else None
    return client.source if client is not None else None


def _api(scope):
    def decorate(function):
        function = permission_classes([scope_required(scope)])(function)
        function = authentication_classes([ClientCredentialsAuthentication])(function)
        return function

    return decorate


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "period",
            "original_name",
            "sha256",
            "size_bytes",
            "status",
            "progress",
            "rows_total",
            "rows_loaded",
            "rows_rejected",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=[Kind.RISK, Kind.CLAIMS])
    period = serializers.CharField(help_text=_("The month the bordereau reports on, YYYY-MM."))


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = RowError
        fields = ["row_number", "column", "value", "message"]


class RiskRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskRow
        exclude = ["source", "job", "id"]


class ClaimRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimRow
        exclude = ["source", "job", "id"]


class RowCursor(CursorPagination):
    ordering = "id"
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 5000


ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("The token lacks the scope.")),
}


# What the multipart boundaries and the kind and period fields add to the file, at the most.
UPLOAD_FORM_BYTES = 64 * 1024


# Outermost, so that the request-body middleware sees it on the view it resolves: a body declared
# larger than a bordereau may be is refused with 413 from its Content-Length, before a byte is read.
@body_limit(
    "AMPARO_BORDEREAU_MAX_BYTES",
    allowance=UPLOAD_FORM_BYTES,
    message=lambda declared: too_large_to_upload(declared, allowance=UPLOAD_FORM_BYTES),
)
@extend_schema(
    tags=TAG,
    request={"multipart/form-data": UploadSerializer},
    responses={
        202: JobSerializer,
        400: ErrorSerializer,
        413: ErrorSerializer,
        422: OpenApiResponse(ErrorSerializer, description=_("The file was refused (unreadable, unsafe, too large).")),
        **ERRORS,
    },
    summary="Upload a bordereau file (CSV or XLSX) for this client's source; its import is queued.",
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
@_api(WRITE)
def bordereau_upload(request):
    upload = UploadSerializer(data=request.data)
    upload.is_valid(raise_exception=True)
    data = upload.validated_data
    if refusal := too_large_to_upload(data["file"].size):
        raise PayloadTooLarge(refusal)
    period = period_from_text(data["period"])  # a ValidationError answers 400 with the field
    job = import_job_create(
        actor=None,
        source=_client_source(request),
        kind=data["kind"],
        period=period,
        upload=data["file"],
        original_name=data["file"].name,
    )
    if job.status == ImportJob.Status.FAILED:
        raise Unprocessable(job.error)
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _own_job(request, job_id):
    return get_object_or_404(ImportJob.objects.filter(source=_client_source(request)), pk=job_id)


@extend_schema(
    tags=TAG, responses={200: JobSerializer, 404: ErrorSerializer, **ERRORS}, summary="An import's status and progress."
)
@api_view(["GET"])
@_api(READ)
def bordereau_job(request, job_id):
    return Response(JobSerializer(_own_job(request, job_id)).data)


@extend_schema(
    tags=TAG,
    responses={200: RowErrorSerializer(many=True), 404: ErrorSerializer, **ERRORS},
    summary="An import's row errors, a page at a time.",
)
@api_view(["GET"])
@_api(READ)
def bordereau_job_errors(request, job_id):
    job = _own_job(request, job_id)
    errors = RowError.objects.filter(job=job).order_by("row_number", "id")
    return paginated_response(request, errors, RowErrorSerializer)


@extend_schema(
    tags=TAG,
    parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, enum=[Kind.RISK, Kind.CLAIMS], description="risk (default)"),
        OpenApiParameter("period", OpenApiTypes.STR, description="YYYY-MM"),
    ],
    responses={200: RiskRowSerializer(many=True), 400: ErrorSerializer, **ERRORS},
    summary="This client's own imported rows, cursor-paged.",
)
@api_view(["GET"])
@_api(READ)
def bordereau_rows(request):
    kind = request.query_params.get("kind", Kind.RISK)
    if kind not in (Kind.RISK, Kind.CLAIMS):
        raise ValidationError({"kind": _("Choose risk or claims.")})
    model, serializer = (RiskRow, RiskRowSerializer) if kind == Kind.RISK else (ClaimRow, ClaimRowSerializer)
    rows = model.objects.filter(source=_client_source(request))
    if request.query_params.get("period"):
        rows = rows.filter(period=period_from_text(request.query_params["period"]))
    paginator = RowCursor()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer(page, many=True).data)
