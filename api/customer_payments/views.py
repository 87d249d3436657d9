"""/api/v1/payments/: the customer's payments and receipts, and online payments through Wompi started
with the same service as the portal's. The app reads an attempt's status; only Wompi's word changes it."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.core.db_router import api_reads_from_replica
from portal.core.exports import pdf_download
from portal.gateways.selectors import gateway_attempts_for_app
from portal.gateways.services import GatewayUnavailable, online_payment_start
from portal.gateways.wompi import WompiClient, WompiError
from portal.payments import documents
from portal.payments.selectors import payments_for_app

from ..customer import ERRORS, INVALID, NOT_FOUND
from ..exceptions import ErrorSerializer
from ..idempotency import IDEMPOTENCY_ERRORS, IDEMPOTENCY_PARAMETER, idempotent
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, page_of, paginated_response
from ..permissions import IsCustomer, caller_customer
from ..renderers import FileRenderer
from . import serializers as s

TAG = ["payments"]


class WompiUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Wompi cannot be reached just now; try again in a minute.")
    default_code = "wompi_unavailable"


@extend_schema(
    tags=TAG,
    methods=["GET"],
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.PaymentSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your payments",
    description="The payments you made, newest first, with their receipt numbers, in pages.",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    request=s.PaymentStartSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: OpenApiResponse(s.AttemptSerializer, description=_("Sent to Wompi: PENDING until Wompi says.")),
        **INVALID,
        **ERRORS,
        **IDEMPOTENCY_ERRORS,
        503: OpenApiResponse(ErrorSerializer, description=_("Wompi cannot be reached: nothing was charged.")),
    },
    summary="Pay online with Wompi (card, Nequi or PSE)",
    description=(
        "CARD takes the token from Wompi's widget; NEQUI the payer's Nequi number, who approves in the Nequi "
        "app; PSE the payer's bank, person type and legal id, and the answer's async_payment_url is where the "
        "payer completes it. The attempt stays PENDING until Wompi's event or Wompi's own answer settles it: "
        "follow it at GET payments/attempts/{id}/."
    ),
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated, IsCustomer])
@api_reads_from_replica
def payment_list(request):
    if request.method == "POST":
        return _payment_start(request)
    return paginated_response(request, payments_for_app(request.user), s.PaymentSerializer)


@idempotent
def _payment_start(request):
    serializer = s.PaymentStartSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    try:
        attempt = online_payment_start(
            customer=caller_customer(request),
            amount=data["amount"],
            currency=data["currency"],
            method=data["method"],
            method_details=serializer.method_details(),
            actor=request.user,
            redirect_url=request.build_absolute_uri(reverse("gateways:payment_return")),
        )
    except GatewayUnavailable as error:
        raise WompiUnavailable(" ".join(error.messages)) from error
    location = reverse("api:customer_payment_attempt", args=[attempt.pk])
    return Response(s.AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED, headers={"Location": location})


@extend_schema(
    tags=TAG,
    responses={
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The receipt PDF.")),
        **NOT_FOUND,
        **ERRORS,
    },
    summary="The receipt of one of your payments (PDF)",
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, FileRenderer])
@permission_classes([IsAuthenticated, IsCustomer])
def payment_receipt(request, pk):
    payment = payments_for_app(request.user).filter(pk=pk).first()
    receipt = getattr(payment, "receipt", None) if payment else None
    if receipt is None:
        raise exceptions.NotFound(_("You have no payment with a receipt under this id."))
    return pdf_download(documents.receipt_pdf(receipt=receipt), documents.receipt_filename(receipt))


@extend_schema(
    tags=TAG,
    operation_id="payments_attempts_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.AttemptSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your online payments",
    description="Online payments started for you, newest first, each with the status Wompi last gave.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
@api_reads_from_replica
def attempt_list(request):
    return paginated_response(request, gateway_attempts_for_app(request.user), s.AttemptSerializer)


@extend_schema(
    tags=TAG,
    responses={200: s.AttemptSerializer, **NOT_FOUND, **ERRORS},
    summary="One of your online payments",
    description="Its status as Wompi last gave it. Read it again to follow a PENDING one; it cannot be changed here.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
def attempt_detail(request, pk):
    attempt = gateway_attempts_for_app(request.user).filter(pk=pk).first()
    if attempt is None:
        raise exceptions.NotFound(_("You have no online payment with this id."))
    return Response(s.AttemptSerializer(attempt).data)


@extend_schema(
    tags=TAG,
    parameters=PAGE_PARAMETERS,
    responses={
        200: page_of(s.BankSerializer),
        **PAGE_ERRORS,
        503: OpenApiResponse(ErrorSerializer, description=_("Wompi cannot be reached.")),
        **ERRORS,
    },
    summary="The banks PSE payments can come from",
    description="As Wompi lists them; pass a bank's code as financial_institution_code.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
def pse_banks(request):
    try:
        banks = WompiClient().pse_banks()
    except WompiError as error:
        raise WompiUnavailable() from error
    # Wompi's list starts with a "choose your bank" row of code 0, which is not a bank.
    rows = [{"code": code, "name": name} for code, name in banks if code != "0"]
    return paginated_response(request, rows, s.BankSerializer)
