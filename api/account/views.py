"""/api/v1/account/: the customer's balances, next instalments and statement (JSON, or the portal's PDF)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.core.exports import pdf_download
from portal.payments import documents
from portal.payments.forms import StatementPeriodForm
from portal.payments.selectors import account_statement, account_summary, accounts_for_app, instalments_due_for_app

from ..customer import ERRORS, INVALID, NOT_FOUND
from ..pagination import PAGE_ERRORS, PAGE_PARAMETERS, PagePagination
from ..permissions import IsCustomer
from ..renderers import FileRenderer
from . import serializers as s

TAG = ["account"]


@extend_schema(
    tags=TAG,
    responses={200: s.AccountSerializer, **ERRORS},
    summary="Your balances and next instalments",
    description="What you owe per currency (negative: credit), what is overdue, and the next instalments due.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, IsCustomer])
def account(request):
    today = timezone.localdate()
    body = {
        "balances": [account_summary(account, today=today) for account in accounts_for_app(request.user)],
        "next_instalments": list(instalments_due_for_app(request.user)),
    }
    return Response(s.AccountSerializer(body, context={"today": today}).data)


def _period(request):
    form = StatementPeriodForm({"start": request.query_params.get("from"), "end": request.query_params.get("to")})
    if not any(name in request.query_params for name in ("from", "to")):
        default = StatementPeriodForm.default_period()
        return default["start"], default["end"]
    if not form.is_valid():
        names = {"start": "from", "end": "to", "__all__": "non_field_errors"}
        raise exceptions.ValidationError({names[field]: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data["start"], form.cleaned_data["end"]


def _account_in(request):
    accounts = list(accounts_for_app(request.user))
    currency = request.query_params.get("currency")
    if currency:
        accounts = [account for account in accounts if account.currency == currency]
    if not accounts:
        raise exceptions.NotFound(_("You have no account in this currency."))
    if len(accounts) > 1:
        raise exceptions.ValidationError({"currency": [_("You have accounts in several currencies; choose one.")]})
    return accounts[0]


@extend_schema(
    tags=TAG,
    parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, description=_("First day (default: three months back).")),
        OpenApiParameter("to", OpenApiTypes.DATE, description=_("Last day (default: today).")),
        OpenApiParameter("currency", OpenApiTypes.STR, description=_("Needed when you have several accounts.")),
        OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "pdf"], description=_("pdf: the statement PDF.")),
        *PAGE_PARAMETERS,
    ],
    responses={
        (200, "application/json"): s.StatementSerializer,
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The statement PDF.")),
        **PAGE_ERRORS,
        **INVALID,
        **NOT_FOUND,
        **ERRORS,
    },
    summary="Your account statement",
    description=(
        "Every entry of the period in date order with the balance after it, the opening and closing balance; "
        "the entries come in pages. `?format=pdf` (or Accept: application/pdf) gives the whole period as PDF."
    ),
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, FileRenderer])
@permission_classes([IsAuthenticated, IsCustomer])
def statement(request):
    if request.query_params.get("format", "json") not in ("json", "pdf"):
        raise exceptions.ValidationError({"format": [_("Ask for json or pdf.")]})
    start, end = _period(request)
    account = _account_in(request)
    if request.query_params.get("format") == "pdf" or request.accepted_renderer.format == FileRenderer.format:
        return pdf_download(
            documents.statement_pdf(account=account, start=start, end=end),
            documents.statement_filename(account, start, end),
        )
    statement = account_statement(account, start, end)
    paginator = PagePagination()
    page = paginator.paginate_queryset(statement.lines, request)
    links = paginator.get_paginated_response([]).data
    body = {"currency": account.currency, "statement": statement, **links, "results": page}
    return Response(s.StatementSerializer(body).data)
