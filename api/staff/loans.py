"""/api/v1/staff/loans/: start a loan's next task and complete the current one with its outcome, for
staff signed in with their authenticator app. The same roles, scopes and services as the portal."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from portal.loans import services
from portal.loans.models import LoanTask
from portal.loans.selectors import loans_for_page

from ..exceptions import ErrorSerializer
from ..loans import serializers as s
from ..loans.views import refused_with_reason
from .views import staff_permission

TAG = ["staff"]
CanChangeLoans = staff_permission("loans.change_loan", _("Your role sees loans read-only, or not at all."))
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("Invalid input.")),
    401: OpenApiResponse(ErrorSerializer, description=_("No valid access token.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Your role, the four-eyes rule or your limit refuses it.")),
    404: OpenApiResponse(ErrorSerializer, description=_("No such loan or task in your scope.")),
    409: OpenApiResponse(ErrorSerializer, description=_("The loan moved on: a task is open, or that one is done.")),
}


def _loan(request, pk):
    loan = loans_for_page(request.user).filter(pk=pk).first()
    if loan is None:
        raise exceptions.NotFound(_("No loan with this id in your scope."))
    return loan


def _answer(request, loan, status_code=status.HTTP_200_OK):
    return Response(s.StaffLoanSerializer(_loan(request, loan.pk)).data, status=status_code)


@extend_schema(
    tags=TAG,
    request=None,
    responses={201: s.StaffLoanSerializer, **ERRORS},
    summary="Start the loan's next task",
    description="Starts the first task of a new loan; refused with 409 while a task is open.",
)
@api_view(["POST"])
@permission_classes([CanChangeLoans])
def loan_task_start(request, pk):
    loan = _loan(request, pk)
    refused_with_reason(services.loan_task_start, loan=loan, actor=request.user)
    return _answer(request, loan, status.HTTP_201_CREATED)


@extend_schema(
    tags=TAG,
    request=s.LoanTaskCompleteRequestSerializer,
    responses={200: s.StaffLoanSerializer, **ERRORS},
    summary="Complete the loan's current task with its outcome",
    description=(
        "PASSED or REFUSED: a KYC verified or refused, a credit refusal overridden or confirmed, an approval or "
        "a rejection, a prepared transfer confirmed. The next task starts in the same transaction."
    ),
)
@api_view(["POST"])
@permission_classes([CanChangeLoans])
def loan_task_complete(request, pk, task_id):
    loan = _loan(request, pk)
    task = LoanTask.objects.filter(loan=loan, pk=task_id).first()
    if task is None:
        raise exceptions.NotFound(_("This loan has no task with this id."))
    serializer = s.LoanTaskCompleteRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    refused_with_reason(
        services.loan_task_complete, loan=loan, task=task, actor=request.user, **serializer.validated_data
    )
    return _answer(request, loan)
