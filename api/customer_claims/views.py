"""/api/v1/claims/: a customer's own claims. First notice of loss and documents go through the same
claims services as the portal (the same cover checks, the same content-checked private storage)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.claims import services
from portal.claims.selectors import claim_documents, claim_timeline, claims_for_app
from portal.core.db_router import api_reads_from_replica
from portal.core.uploads import body_limit
from portal.policies.selectors import policies_visible_to

from ..customer import ERRORS, INVALID, NOT_FOUND, service_answers
from ..exceptions import ErrorSerializer
from ..idempotency import IDEMPOTENCY_ERRORS, IDEMPOTENCY_PARAMETER, idempotent
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, page_of, paginated_response
from ..permissions import IsCustomer
from . import serializers as s

TAG = ["claims"]
CLOSED = OpenApiResponse(ErrorSerializer, description=_("The claim is closed, or the Idempotency-Key is in use."))


def _own_claim(request, pk):
    claim = claims_for_app(request.user).filter(pk=pk).first()
    if claim is None:
        raise exceptions.NotFound(_("You have no claim with this id."))
    return claim


def _detail(claim):
    claim.timeline = list(claim_timeline(claim))
    claim.document_list = list(claim_documents(claim))
    return s.ClaimDetailSerializer(claim).data


@extend_schema(
    tags=TAG,
    methods=["GET"],
    operation_id="claims_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.ClaimSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your claims",
    description="Your claims, newest first, in pages.",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    request=s.ClaimFileSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={201: s.ClaimDetailSerializer, **INVALID, **ERRORS, **IDEMPOTENCY_ERRORS},
    summary="File a claim (first notice of loss)",
    description=(
        "A claim on one of your policies: the policy must have covered the date of loss, the coverage must "
        "be part of it that day, and the amount must fit in what remains of the coverage. The claim starts "
        "PENDING; attach photos or documents with POST claims/{id}/documents/."
    ),
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated, IsCustomer])
@api_reads_from_replica
def claim_list(request):
    if request.method == "POST":
        return _claim_file(request)
    return paginated_response(request, claims_for_app(request.user), s.ClaimSerializer)


@idempotent
def _claim_file(request):
    serializer = s.ClaimFileSerializer(data=request.data, context={"policies": policies_visible_to(request.user)})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    with service_answers():
        claim = services.claim_file(
            policy=data["policy"],
            coverage_code=data["coverage_code"],
            loss_date=data["loss_date"],
            claimed_amount=data["claimed_amount"],
            description=data["description"],
            actor=request.user,
        )
    location = reverse("api:customer_claim_detail", args=[claim.pk])
    body = _detail(claims_for_app(request.user).get(pk=claim.pk))
    return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


@extend_schema(
    tags=TAG,
    responses={200: s.ClaimDetailSerializer, **NOT_FOUND, **ERRORS},
    summary="One of your claims",
    description="The claim with its timeline in plain words and the documents attached.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
def claim_detail(request, pk):
    return Response(_detail(_own_claim(request, pk)))


@extend_schema(
    tags=TAG,
    request={"multipart/form-data": s.DocumentUploadSerializer},
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: s.DocumentSerializer(many=True),
        **INVALID,
        **NOT_FOUND,
        **IDEMPOTENCY_ERRORS,
        409: CLOSED,
        413: OpenApiResponse(ErrorSerializer, description=_("The upload is larger than allowed.")),
        415: OpenApiResponse(ErrorSerializer, description=_("Not multipart form data.")),
        **ERRORS,
    },
    summary="Attach photos or documents to your claim",
    description=(
        "Each file is checked by its content (photos and PDFs only, no programs) and kept privately; "
        "when one file is refused, none is kept."
    ),
)
@body_limit("AMPARO_UPLOAD_BODY_MAX_BYTES")
@api_view(["POST"])
@parser_classes([MultiPartParser])
@permission_classes([IsAuthenticated, IsCustomer])
@idempotent
def claim_documents_add(request, pk):
    claim = _own_claim(request, pk)
    serializer = s.DocumentUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    uploads = serializer.validated_data["files"]
    with service_answers():
        added = services.claim_documents_add(claim=claim, uploads=uploads, actor=request.user)
    return Response(s.DocumentSerializer(added, many=True).data, status=status.HTTP_201_CREATED)
