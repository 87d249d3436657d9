"""/api/v1/staff/reports/: the report catalogue for finance integrations. The same roles, scopes,
parameters and runs as the portal: list what the user may run, request a run, follow it, download
its file."""

import mimetypes

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.reports.catalogue import report_named, reports_for
from portal.reports.models import ReportFormat, ReportRun
from portal.reports.selectors import report_run_downloadable, report_runs_visible_to
from portal.reports.services import report_run_request
from portal.reports.storage import report_exists, report_response

from .serializers import DetailSerializer
from .views import staff_permission

TAG = ["staff"]
CanRunReports = staff_permission(
    "reports.add_reportrun", _("Reports are open to agents, supervisors, finance, Interventoría and administrators.")
)
ERRORS = {
    400: OpenApiResponse(DetailSerializer, description=_("Invalid parameters.")),
    401: OpenApiResponse(DetailSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(DetailSerializer, description=_("Not a role that may run this report.")),
}


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    required = serializers.BooleanField()


class ReportSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    parameters = ParameterSerializer(many=True)


class RunRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ReportFormat.values)
    parameters = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)


class RunSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportRun
        fields = [
            "id",
            "report",
            "format",
            "parameters",
            "status",
            "progress",
            "row_count",
            "sha256",
            "size_bytes",
            "error",
            "requested_at",
            "finished_at",
            "expires_at",
            "download_url",
        ]

    def get_download_url(self, run) -> str | None:
        return reverse("api:staff_report_run_download", args=[run.pk]) if report_run_downloadable(run) else None


def _report_answer(report):
    return {
        "name": report.name,
        "title": str(report.title),
        "description": str(report.description),
        "formats": ReportFormat.values,
        "parameters": [{"name": p.name, "kind": p.kind, "required": p.required} for p in report.params],
    }


@extend_schema(tags=TAG, responses={200: ReportSerializer(many=True), **ERRORS}, summary="The reports you may run")
@api_view(["GET"])
@permission_classes([IsAuthenticated, CanRunReports])
def report_list(request):
    return Response([_report_answer(report) for report in reports_for(request.user)])


@extend_schema(
    tags=TAG,
    request=RunRequestSerializer,
    responses={202: RunSerializer, 404: DetailSerializer, **ERRORS},
    summary="Request a run of a report (generated in the background)",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, CanRunReports])
def report_run_create(request, name):
    try:
        report = report_named(name)
    except ValidationError:
        raise exceptions.NotFound(_("There is no report with this name.")) from None
    body = RunRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        run = report_run_request(
            report_name=report.name,
            fmt=body.validated_data["format"],
            parameters=body.validated_data["parameters"],
            actor=request.user,
        )
    except PermissionDenied as error:
        raise exceptions.PermissionDenied(str(error)) from None
    except ValidationError as error:
        raise exceptions.ValidationError(serializers.as_serializer_error(error)) from error
    return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _run_of(request, pk):
    run = report_runs_visible_to(request.user).filter(pk=pk).first()
    if run is None:
        raise exceptions.NotFound(_("No report run of yours has this id."))
    return run


@extend_schema(tags=TAG, responses={200: RunSerializer, 404: DetailSerializer, **ERRORS}, summary="A run's progress")
@api_view(["GET"])
@permission_classes([IsAuthenticated, CanRunReports])
def report_run_detail(request, pk):
    return Response(RunSerializer(_run_of(request, pk)).data)


@extend_schema(
    tags=TAG,
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: DetailSerializer, **ERRORS},
    summary="A finished run's file",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, CanRunReports])
def report_run_download(request, pk):
    run = _run_of(request, pk)
    if not report_run_downloadable(run) or not report_exists(run.stored_name):
        raise exceptions.NotFound(_("This run has no file: it is not finished, it failed or it expired."))
    content_type = mimetypes.guess_type(run.download_name)[0] or "application/octet-stream"
    response = report_response(run.stored_name, filename=run.download_name, content_type=content_type)
    response["X-Checksum-SHA256"] = run.sha256
    return response
