"""/api/v1/claims/: a customer's own claims. First notice of loss and documents go through the same
claims services as the portal (the same cover checks, the same content-checked private storage)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.claims import services
from portal.claims.selectors import claim_documents, claim_timeline, claims_of_policyholder
from portal.core.uploads import body_limit
from portal.policies.selectors import policies_of_policyholder

from ..customer import ERRORS, INVALID, NOT_FOUND, IsCustomer, caller_customer, service_answers
from ..staff.pagination import UncountedPagination
from . import serializers as s

TAG = ["claims"]
CONFLICT = {409: OpenApiResponse(description=_("The claim is closed: no more documents."))}


def _own_claim(request, pk):
    claim = claims_of_policyholder(caller_customer(request)).filter(pk=pk).first()
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
    responses={200: s.ClaimSerializer(many=True), **ERRORS},
    summary="Your claims",
    description="Your claims, newest first; pages without a count.",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    request=s.ClaimFileSerializer,
    responses={201: s.ClaimDetailSerializer, **INVALID, **ERRORS},
    summary="File a claim (first notice of loss)",
    description=(
        "A claim on one of your policies: the policy must have covered the date of loss, the coverage must "
        "be part of it that day, and the amount must fit in what remains of the coverage. The claim starts "
        "PENDING; attach photos or documents with POST claims/{id}/documents/."
    ),
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated, IsCustomer])
def claim_list(request):
    customer = caller_customer(request)
    if request.method == "POST":
        return _claim_file(request, customer)
    paginator = UncountedPagination()
    page = paginator.paginate_queryset(claims_of_policyholder(customer), request)
    return paginator.get_paginated_response(s.ClaimSerializer(page, many=True).data)


def _claim_file(request, customer):
    serializer = s.ClaimFileSerializer(data=request.data, context={"policies": policies_of_policyholder(customer)})
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
    return Response(_detail(claims_of_policyholder(customer).get(pk=claim.pk)), status=status.HTTP_201_CREATED)


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
    responses={
        201: s.DocumentSerializer(many=True),
        **INVALID,
        **NOT_FOUND,
        **CONFLICT,
        413: OpenApiResponse(description=_("The upload is larger than allowed.")),
        415: OpenApiResponse(description=_("Not multipart form data.")),
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
def claim_documents_add(request, pk):
    claim = _own_claim(request, pk)
    serializer = s.DocumentUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    uploads = serializer.validated_data["files"]
    with service_answers():
        added = services.claim_documents_add(claim=claim, uploads=uploads, actor=request.user)
    return Response(s.DocumentSerializer(added, many=True).data, status=status.HTTP_201_CREATED)
