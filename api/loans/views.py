"""/api/v1/loans/ for the customer signed in to the app: quote, apply, follow and withdraw their own
loans. Thin views over the loans selectors (scoped to the caller) and services (the portal's rules)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from portal.core.db_router import api_reads_from_replica
from portal.core.exceptions import Conflict as ServiceConflict
from portal.core.private_files import TOO_LARGE
from portal.core.uploads import body_limit
from portal.gateways.selectors import gateway_attempts_paid_for
from portal.gateways.services import GatewayUnavailable, online_payment_start
from portal.loans import amortization, services
from portal.loans.selectors import (
    loan_amount_due,
    loan_documents,
    loan_products_offered,
    loan_schedule,
    loans_of_app_customer,
)
from portal.policies.selectors import policies_visible_to

from ..customer_payments.serializers import AttemptSerializer
from ..customer_payments.views import WompiUnavailable
from ..exceptions import Conflict, ErrorSerializer, PayloadTooLarge, Unprocessable
from ..idempotency import IDEMPOTENCY_ERRORS, IDEMPOTENCY_PARAMETER, idempotent
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, page_of, paginated_response
from ..permissions import IsCustomer, caller_customer
from . import serializers as s

TAG = ["loans"]
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not a customer signed in to the app.")),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description=_("Not found, or not yours."))}
BAD_INPUT = {400: OpenApiResponse(ErrorSerializer, description=_("Invalid input: the messages say which field."))}
CONFLICT = {409: OpenApiResponse(ErrorSerializer, description=_("The loan has moved on: nothing was changed."))}


def refused_with_reason(call, **kwargs):
    """Run a service, answering its PermissionDenied as 403 with the service's own reason."""
    try:
        return call(**kwargs)
    except PermissionDenied as refused:
        raise exceptions.PermissionDenied(str(refused) or None) from refused


def _product(pk):
    product = loan_products_offered().filter(pk=pk).first()
    if product is None:
        raise exceptions.ValidationError({"product": [_("Choose a loan product that is offered.")]})
    return product


@extend_schema(
    tags=TAG,
    request=s.LoanQuoteRequestSerializer,
    responses={200: s.LoanQuoteSerializer, **BAD_INPUT, **ERRORS},
    summary="The instalment and schedule of a loan",
    description="What a loan of this amount and tenure would cost: nothing is applied for.",
)
@api_view(["POST"])
@permission_classes([IsCustomer])
def loan_quote(request):
    serializer = s.LoanQuoteRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    product = _product(data["product"])
    terms = services.loan_terms(product=product, amount=data["amount"], tenure_months=data["tenure_months"])
    rows = amortization.schedule(terms["amount"], terms["annual_rate_pct"], terms["tenure_months"])
    quote = {
        "product": product,
        "currency": product.currency,
        "amount": terms["amount"],
        "tenure_months": terms["tenure_months"],
        "annual_rate_pct": terms["annual_rate_pct"],
        "fee": terms["fee"],
        "instalment": terms["instalment"],
        "total_interest": amortization.total_interest(rows),
        "schedule": rows,
    }
    return Response(s.LoanQuoteSerializer(quote).data)


@extend_schema(
    tags=TAG,
    methods=["GET"],
    operation_id="loans_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.LoanSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your loans",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    parameters=[IDEMPOTENCY_PARAMETER],
    request=s.LoanApplyRequestSerializer,
    responses={201: s.LoanSerializer, **BAD_INPUT, **ERRORS, **IDEMPOTENCY_ERRORS},
    summary="Apply for a loan",
    description="Applies with the product's terms of today, frozen for this loan.",
)
@api_view(["GET", "POST"])
@permission_classes([IsCustomer])
@api_reads_from_replica
@idempotent
def loans(request):
    customer = caller_customer(request)
    if request.method == "GET":
        return paginated_response(request, loans_of_app_customer(request.user), s.LoanSerializer)
    serializer = s.LoanApplyRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    policy = None
    if data.get("policy") is not None:
        policy = policies_visible_to(request.user).filter(pk=data["policy"]).first()
        if policy is None:
            raise exceptions.ValidationError({"policy": [_("Choose one of your policies.")]})
    loan = refused_with_reason(
        services.loan_apply,
        product=_product(data["product"]),
        customer=customer,
        policy=policy,
        actor=request.user,
        amount=data["amount"],
        tenure_months=data["tenure_months"],
    )
    response = Response(s.LoanSerializer(_own_loan(request, loan.pk)).data, status=status.HTTP_201_CREATED)
    response["Location"] = request.build_absolute_uri(reverse("api:loan_detail", args=[loan.pk]))
    return response


def _own_loan(request, pk):
    loan = loans_of_app_customer(request.user).filter(pk=pk).first()
    if loan is None:
        raise exceptions.NotFound(_("You have no loan with this id."))
    return loan


@extend_schema(tags=TAG, responses={200: s.LoanSerializer, **NOT_FOUND, **ERRORS}, summary="One of your loans")
@api_view(["GET"])
@permission_classes([IsCustomer])
def loan_detail(request, pk):
    return Response(s.LoanSerializer(_own_loan(request, pk)).data)


@extend_schema(
    tags=TAG,
    responses={200: s.LoanScheduleRowSerializer(many=True), **NOT_FOUND, **ERRORS},
    summary="Your loan's repayment schedule",
    description="The instalments of a disbursed loan; before that, the schedule it will have (no due dates yet).",
)
@api_view(["GET"])
@permission_classes([IsCustomer])
def loan_schedule_view(request, pk):
    loan = _own_loan(request, pk)
    if loan.disbursed_on:
        return Response(s.LoanInstalmentSerializer(loan_schedule(loan), many=True).data)
    rows = amortization.schedule(loan.principal, loan.annual_rate_pct, loan.tenure_months)
    return Response(s.LoanScheduleRowSerializer(rows, many=True).data)


@extend_schema(
    tags=TAG,
    request=None,
    responses={200: s.LoanSerializer, **NOT_FOUND, **CONFLICT, **ERRORS},
    summary="Withdraw your application",
    description="Possible until the money is on its way to you.",
)
@api_view(["POST"])
@permission_classes([IsCustomer])
def loan_withdraw(request, pk):
    loan = _own_loan(request, pk)
    refused_with_reason(services.loan_withdraw, loan=loan, actor=request.user)
    return Response(s.LoanSerializer(_own_loan(request, pk)).data)


@extend_schema(
    tags=TAG,
    methods=["GET"],
    operation_id="loans_payments_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(AttemptSerializer), **NOT_FOUND, **PAGE_ERRORS, **ERRORS},
    summary="Your online payments on a loan",
    description="The Wompi payments started for this loan, newest first, each with the status Wompi last gave.",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    operation_id="loans_payments_create",
    request=s.LoanPaymentStartSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: OpenApiResponse(AttemptSerializer, description=_("Sent to Wompi: PENDING until Wompi says.")),
        **BAD_INPUT,
        **NOT_FOUND,
        **CONFLICT,
        **ERRORS,
        **IDEMPOTENCY_ERRORS,
        503: OpenApiResponse(ErrorSerializer, description=_("Wompi cannot be reached: nothing was charged.")),
    },
    summary="Pay your loan online with Wompi (card, Nequi or PSE)",
    description=(
        "Pays what is due now (the late instalments, or the next one) unless an amount is given, at most what "
        "is left to pay, in the loan's currency. The method fields are those of POST payments/. Once Wompi "
        "approves, the money pays the loan's instalments oldest first; follow the attempt at "
        "GET payments/attempts/{id}/."
    ),
)
@api_view(["GET", "POST"])
@permission_classes([IsCustomer])
def loan_payments(request, pk):
    loan = _own_loan(request, pk)
    if request.method == "GET":
        return paginated_response(request, gateway_attempts_paid_for(request.user, loan), AttemptSerializer)
    return _loan_payment_start(request, loan)


@idempotent
def _loan_payment_start(request, loan):
    serializer = s.LoanPaymentStartSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    amount = data.get("amount") or loan_amount_due(loan)
    if not amount:
        # Nothing is due only on a loan that is not running (yet, or any more).
        raise Conflict(_("Loan %(number)s is not running; there is nothing to repay.") % {"number": loan.number})
    try:
        attempt = online_payment_start(
            customer=caller_customer(request),
            amount=amount,
            currency=loan.currency,
            method=data["method"],
            method_details=serializer.method_details(),
            actor=request.user,
            redirect_url=request.build_absolute_uri(reverse("gateways:payment_return")),
            paid_for=loan,
        )
    except GatewayUnavailable as error:
        raise WompiUnavailable(" ".join(error.messages)) from error
    location = reverse("api:customer_payment_attempt", args=[attempt.pk])
    return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED, headers={"Location": location})


@extend_schema(
    tags=TAG,
    methods=["GET"],
    operation_id="loans_documents_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.LoanDocumentSerializer), **NOT_FOUND, **PAGE_ERRORS, **ERRORS},
    summary="The documents of your loan application",
    description="The identity and income documents attached to the loan, oldest first.",
)
@extend_schema(
    tags=TAG,
    methods=["POST"],
    operation_id="loans_documents_create",
    request={"multipart/form-data": s.LoanDocumentUploadSerializer},
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: s.LoanDocumentSerializer,
        **BAD_INPUT,
        **NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description=_("The loan is past its application: no more documents.")),
        413: OpenApiResponse(ErrorSerializer, description=_("The file or the upload is larger than allowed.")),
        415: OpenApiResponse(ErrorSerializer, description=_("Not multipart form data.")),
        422: OpenApiResponse(
            ErrorSerializer, description=_("The file was refused: not a photo or PDF, a program, or a virus.")
        ),
        **ERRORS,
        **IDEMPOTENCY_ERRORS,
    },
    summary="Attach an identity or income document to your loan application",
    description=(
        "Possible until the money is disbursed. The file is checked by its content (photos and PDFs only, "
        "no programs), scanned for viruses and kept privately."
    ),
)
@body_limit("AMPARO_UPLOAD_BODY_MAX_BYTES")
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser])
@permission_classes([IsCustomer])
def loan_documents_view(request, pk):
    loan = _own_loan(request, pk)
    if request.method == "GET":
        return paginated_response(request, loan_documents(loan), s.LoanDocumentSerializer)
    return _loan_document_add(request, loan)


@idempotent
def _loan_document_add(request, loan):
    serializer = s.LoanDocumentUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        document = refused_with_reason(
            services.loan_document_add, loan=loan, upload=serializer.validated_data["file"], actor=request.user
        )
    except ServiceConflict as error:
        raise Conflict(" ".join(error.messages)) from error
    except ValidationError as error:
        too_large = any(item.code == TOO_LARGE for item in getattr(error, "error_list", []))
        refusal = PayloadTooLarge if too_large else Unprocessable
        raise refusal(" ".join(error.messages)) from error
    return Response(s.LoanDocumentSerializer(document).data, status=status.HTTP_201_CREATED)
