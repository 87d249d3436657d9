"""/api/v1/staff/: the claims work queue and its bulk moves, for staff signed in with password and
their authenticator app. The same roles, scopes, filters, services and limits as the portal."""

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from portal.claims.bulk import bulk_transition_submit
from portal.claims.filters import ClaimFilter
from portal.claims.models import BulkTransitionJob
from portal.claims.selectors import bulk_claim_ids, bulk_job_of, bulk_results_of, claims_for_queue
from portal.core.db_router import api_reads_from_replica

from ..pagination import page_of
from . import serializers as s
from .pagination import UncountedPagination

TAG = ["staff"]
ORDERINGS = ["created_at", "-created_at", "loss_date", "-loss_date", "claimed_amount", "-claimed_amount", "number"]


def staff_permission(perm, reason):
    class StaffPermission(BasePermission):
        message = reason

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff_role and user.has_perm(perm))

    return StaffPermission


CanViewClaims = staff_permission(
    "claims.view_claim", _("Claims are open to agents, supervisors, finance, Interventoría and administrators.")
)
CanChangeClaims = staff_permission("claims.change_claim", _("Only agents, supervisors and administrators move claims."))
ERRORS = {
    400: OpenApiResponse(s.DetailSerializer, description=_("Invalid filter or request.")),
    401: OpenApiResponse(s.DetailSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(s.DetailSerializer, description=_("Not a staff role that may do this.")),
}
FILTER_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=str(description))
    for name, description in [
        ("number", _("Claim number starts with")),
        ("policy", _("Policy number starts with")),
        ("customer", _("Customer name or ID number starts with")),
        ("customer_pk", _("Customer id")),
        ("status", _("A status, or OPEN for every open one")),
        ("age", _("Age bucket: 0-7, 8-30, 31-90, 91+")),
        ("filed_after", _("Filed on or after (YYYY-MM-DD)")),
        ("filed_before", _("Filed on or before (YYYY-MM-DD)")),
        ("loss_after", _("Loss on or after (YYYY-MM-DD)")),
        ("loss_before", _("Loss on or before (YYYY-MM-DD)")),
        ("amount_min", _("Amount claimed at least")),
        ("amount_max", _("Amount claimed at most")),
        ("product", _("Product id")),
        ("assignee", _("Assignee's user id")),
        ("agent", _("Agent's user id")),
        ("ordering", _("One of: %(orderings)s") % {"orderings": ", ".join(ORDERINGS)}),
        ("page", _("Page number")),
        ("page_size", _("Rows per page, at most 100")),
    ]
]


def _filter_errors(claim_filter):
    errors = {name: [str(message) for message in messages] for name, messages in claim_filter.errors.items()}
    raise exceptions.ValidationError(errors)


def _queue(request, params):
    """The work queue's claims for this user and these filters (ClaimFilter, as the portal's queue)."""
    claim_filter = ClaimFilter(params, queryset=claims_for_queue(request.user), request=request)
    if not claim_filter.is_valid():
        _filter_errors(claim_filter)
    return claim_filter.qs


@extend_schema(
    tags=TAG,
    parameters=FILTER_PARAMETERS,
    responses={200: page_of(s.QueueClaimSerializer, counted=False), **ERRORS},
    summary="The claims work queue",
    description="The claims in the caller's scope, with the portal work queue's filters; pages without a count.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, CanViewClaims])
@api_reads_from_replica
def claim_list(request):
    ordering = request.query_params.get("ordering") or "-created_at"
    if ordering not in ORDERINGS:
        raise exceptions.ValidationError({"ordering": [_("Order by one of: %s") % ", ".join(ORDERINGS)]})
    claims = _queue(request, request.query_params).order_by(ordering, "-id" if ordering.startswith("-") else "id")
    paginator = UncountedPagination()
    page = paginator.paginate_queryset(claims, request)
    return paginator.get_paginated_response(s.QueueClaimSerializer(page, many=True).data)


def _job_answer(job, *, left_out=0):
    body = s.BulkJobSerializer(job).data
    body["left_out"] = left_out
    body["results"] = (
        s.BulkResultSerializer(bulk_results_of(job), many=True).data
        if job.status == BulkTransitionJob.Status.FINISHED
        else []
    )
    finished = job.status == BulkTransitionJob.Status.FINISHED
    return Response(body, status=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED)


@extend_schema(
    tags=TAG,
    request=s.BulkTransitionSerializer,
    responses={
        200: OpenApiResponse(s.BulkJobAnswerSerializer, description=_("Done in the request: a result per claim.")),
        202: OpenApiResponse(s.BulkJobAnswerSerializer, description=_("Queued: follow it at bulk-jobs/{id}/.")),
        **ERRORS,
    },
    summary="Move many claims at once",
    description=(
        "One action over the claims given by id (those outside the caller's scope are left out and counted) "
        "or over every claim matching the work queue's filters; each claim is decided by the same rules as "
        "one at a time. Small actions finish in the request, larger ones in the background."
    ),
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, CanChangeClaims])
def claim_bulk_transition(request):
    serializer = s.BulkTransitionSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    try:
        if data.get("filter") is not None:
            params = QueryDict(mutable=True)
            for name, value in data["filter"].items():
                params.setlist(name, value if isinstance(value, list) else [value])
            ids, left_out = bulk_claim_ids(request.user, matching=_queue(request, params))
        else:
            ids, left_out = bulk_claim_ids(request.user, chosen=data["claims"])
        job = bulk_transition_submit(
            actor=request.user,
            action=data["action"],
            claim_ids=ids,
            note=data.get("note", ""),
            rejection_reason=data.get("rejection_reason"),
        )
    except ValidationError as error:
        raise exceptions.ValidationError(serializers.as_serializer_error(error)) from error
    return _job_answer(job, left_out=left_out)


@extend_schema(
    tags=TAG,
    responses={200: s.BulkJobAnswerSerializer, 202: s.BulkJobAnswerSerializer, 404: s.DetailSerializer, **ERRORS},
    summary="A bulk move's progress and results",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, CanViewClaims])
def claim_bulk_job(request, pk):
    job = bulk_job_of(request.user, pk)
    if job is None:
        raise exceptions.NotFound(_("No bulk action of yours has this id."))
    return _job_answer(job)
