"""/api/v1/products/, /quotes/ and /policies/ for the customer signed in to the app: thin views over
the policies selectors (scoped to the caller) and services (the portal's pricing and issuance)."""

from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.core.db_router import api_reads_from_replica
from portal.policies import services
from portal.policies.documents import policy_document_filename, policy_document_pdf
from portal.policies.selectors import (
    app_policies_of,
    app_quotes_of,
    policies_visible_to,
    policy_versions_of,
    policy_with_versions,
    products_sold_in_app,
)

from ..exceptions import ErrorSerializer
from ..idempotency import IDEMPOTENCY_ERRORS, IDEMPOTENCY_PARAMETER, idempotent
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, page_of, paginated_response
from ..permissions import IsCustomer, caller_customer
from ..renderers import FileRenderer
from . import serializers as s

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not a customer signed in to the app.")),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description=_("Not found, or not yours."))}
BAD_INPUT = {400: OpenApiResponse(ErrorSerializer, description=_("Invalid input: the messages say which field."))}


@extend_schema(
    tags=["products"],
    operation_id="products_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.ProductSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Products you can buy in the app",
)
@api_view(["GET"])
@permission_classes([IsCustomer])
def product_list(request):
    return paginated_response(request, products_sold_in_app(), s.ProductSerializer)


def _quote_answer(request, quote, status_code=status.HTTP_200_OK):
    return Response(s.QuoteSerializer(quote).data, status=status_code)


@extend_schema(
    tags=["quotes"],
    methods=["GET"],
    operation_id="quotes_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.QuoteSerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your quotes, newest first",
)
@extend_schema(
    tags=["quotes"],
    methods=["POST"],
    parameters=[IDEMPOTENCY_PARAMETER],
    request=s.QuoteRequestSerializer,
    responses={201: s.QuoteSerializer, **BAD_INPUT, **ERRORS, **IDEMPOTENCY_ERRORS},
    summary="Price a quote",
    description=(
        "Prices the product for you with the same rating as the portal (your age from your birth date) and "
        "presents the quote: its price holds until valid_until. Only products from GET /api/v1/products/."
    ),
)
@api_view(["GET", "POST"])
@permission_classes([IsCustomer])
@api_reads_from_replica
@idempotent
def quotes(request):
    customer = caller_customer(request)
    if request.method == "GET":
        return paginated_response(request, app_quotes_of(request.user), s.QuoteSerializer)
    serializer = s.QuoteRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    product = products_sold_in_app().filter(pk=data["product"]).first()
    if product is None:
        raise exceptions.ValidationError({"product": [_("Choose a product from the ones sold in the app.")]})
    quote = services.app_quote_create(
        customer=customer,
        actor=request.user,
        product=product,
        start_date=data["start_date"],
        sum_insured=data["sum_insured"],
        coverage_codes=data["coverage_codes"],
        payment_frequency=data["payment_frequency"],
    )
    response = _quote_answer(request, quote, status.HTTP_201_CREATED)
    response["Location"] = request.build_absolute_uri(reverse("api:quote_detail", args=[quote.pk]))
    return response


def _own_quote(request, pk):
    quote = app_quotes_of(request.user).filter(pk=pk).first()
    if quote is None:
        raise exceptions.NotFound(_("You have no quote with this id."))
    return quote


@extend_schema(tags=["quotes"], responses={200: s.QuoteSerializer, **NOT_FOUND, **ERRORS}, summary="One of your quotes")
@api_view(["GET"])
@permission_classes([IsCustomer])
def quote_detail(request, pk):
    return _quote_answer(request, _own_quote(request, pk))


@extend_schema(
    tags=["quotes"],
    request=None,
    parameters=[IDEMPOTENCY_PARAMETER],
    responses={
        201: OpenApiResponse(s.PolicyDetailSerializer, description=_("The policy issued from the quote.")),
        **BAD_INPUT,
        **NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description=_("The quote was already issued, declined or expired.")),
        422: IDEMPOTENCY_ERRORS[422],
        **ERRORS,
    },
    summary="Accept a quote and get the policy",
    description="Accepts the quote at its frozen price and issues the policy at once, as the portal issues it.",
)
@api_view(["POST"])
@permission_classes([IsCustomer])
@idempotent
def quote_accept(request, pk):
    quote = _own_quote(request, pk)
    policy = services.quote_accept_and_issue(quote=quote, actor=request.user)
    response = Response(
        s.PolicyDetailSerializer(policy_with_versions(request.user, policy.pk), context={"request": request}).data,
        status=status.HTTP_201_CREATED,
    )
    response["Location"] = request.build_absolute_uri(reverse("api:policy_detail", args=[policy.pk]))
    return response


@extend_schema(
    tags=["policies"],
    operation_id="policies_list",
    parameters=PAGE_PARAMETERS,
    responses={200: page_of(s.PolicySerializer), **PAGE_ERRORS, **ERRORS},
    summary="Your policies, newest first",
)
@api_view(["GET"])
@permission_classes([IsCustomer])
@api_reads_from_replica
def policy_list(request):
    return paginated_response(request, app_policies_of(request.user), s.PolicySerializer)


def _own_policy(request, pk):
    policy = policy_with_versions(request.user, pk)
    if policy is None:
        raise exceptions.NotFound(_("You have no policy with this id."))
    return policy


@extend_schema(
    tags=["policies"],
    responses={200: s.PolicyDetailSerializer, **NOT_FOUND, **ERRORS},
    summary="One of your policies: current terms, coverages and versions",
)
@api_view(["GET"])
@permission_classes([IsCustomer])
def policy_detail(request, pk):
    return Response(s.PolicyDetailSerializer(_own_policy(request, pk), context={"request": request}).data)


@extend_schema(
    tags=["policies"],
    parameters=[
        OpenApiParameter(
            "version", OpenApiTypes.INT, description=str(_("A version number; the current version when left out."))
        )
    ],
    responses={
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The policy document.")),
        **{(code, "application/json"): answer for code, answer in {**BAD_INPUT, **NOT_FOUND, **ERRORS}.items()},
    },
    summary="A policy document (PDF)",
)
@api_view(["GET"])
@permission_classes([IsCustomer])
@renderer_classes([JSONRenderer, FileRenderer])
def policy_document(request, pk):
    policy = policies_visible_to(request.user).filter(pk=pk).first()
    if policy is None:
        raise exceptions.NotFound(_("You have no policy with this id."))
    number = request.query_params.get("version")
    if number is None:
        version = policy_versions_of(policy).filter(pk=policy.current_version_id).first()
    else:
        if not number.isdigit() or len(number) > 6:
            raise exceptions.ValidationError({"version": [_("Give a version number.")]})
        version = policy_versions_of(policy).filter(number=int(number)).first()
        if version is None:
            raise exceptions.NotFound(_("This policy has no version %(number)s.") % {"number": number})
    version.policy = policy
    response = HttpResponse(policy_document_pdf(version=version), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=policy_document_filename(version)
    )
    response["Cache-Control"] = "private, no-store"
    return response
