"""What the app reads of loans and may send to quote or apply for one. No mass assignment: status,
tasks, rate, fees and dates are the service's, never the request's."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.loans.models import Loan, LoanDocument, LoanInstalment, LoanProduct, LoanTask
from portal.loans.workflow import CUSTOMER_STEP

from ..customer import StrictDecimalField
from ..customer_payments.serializers import PaymentStartSerializer

MONEY = {"max_digits": 16, "decimal_places": 2}


class LoanProductBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanProduct
        fields = ["id", "code", "name", "currency"]
        read_only_fields = fields


class LoanQuoteRequestSerializer(serializers.Serializer):
    product = serializers.IntegerField(help_text=_("The loan product's id."))
    amount = serializers.DecimalField(**MONEY)
    tenure_months = serializers.IntegerField(min_value=1, max_value=360)


class LoanApplyRequestSerializer(LoanQuoteRequestSerializer):
    policy = serializers.IntegerField(required=False, allow_null=True, help_text=_("Your policy the loan is against."))


class LoanScheduleRowSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    due_date = serializers.DateField(allow_null=True)
    principal = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    amount = serializers.DecimalField(**MONEY)
    balance_after = serializers.DecimalField(**MONEY)


class LoanQuoteSerializer(serializers.Serializer):
    product = LoanProductBriefSerializer()
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    tenure_months = serializers.IntegerField()
    annual_rate_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    fee = serializers.DecimalField(**MONEY)
    instalment = serializers.DecimalField(**MONEY)
    total_interest = serializers.DecimalField(**MONEY)
    schedule = LoanScheduleRowSerializer(many=True)


class LoanSerializer(serializers.ModelSerializer):
    product = LoanProductBriefSerializer(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    current_step = serializers.SerializerMethodField(help_text=_("Where the application is, in your words."))

    class Meta:
        model = Loan
        fields = [
            "id",
            "number",
            "product",
            "policy",
            "currency",
            "principal",
            "tenure_months",
            "annual_rate_pct",
            "fee_amount",
            "instalment_amount",
            "status",
            "status_label",
            "current_step",
            "account_state",
            "applied_at",
            "disbursed_on",
        ]
        read_only_fields = fields

    def get_current_step(self, loan) -> str:
        task = loan.current_task
        return str(CUSTOMER_STEP[task.kind]) if task else ""


class LoanInstalmentSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(read_only=True, **MONEY)

    class Meta:
        model = LoanInstalment
        fields = ["sequence", "due_date", "principal", "interest", "fee", "amount", "balance_after", "status"]
        read_only_fields = fields


class LoanTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanTask
        fields = ["id", "kind", "outcome", "started_at", "completed_at", "note", "score"]
        read_only_fields = fields


class LoanTaskCompleteRequestSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[LoanTask.Outcome.PASSED, LoanTask.Outcome.REFUSED])
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    payee_account = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class StaffLoanSerializer(LoanSerializer):
    current_task = LoanTaskSerializer(read_only=True)

    class Meta(LoanSerializer.Meta):
        fields = [*LoanSerializer.Meta.fields, "current_task"]
        read_only_fields = fields


class LoanPaymentStartSerializer(PaymentStartSerializer):
    """An online payment on one of your loans: in the loan's currency, for what is due now unless you
    say how much (at most what is left to pay)."""

    amount = StrictDecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("How much to pay; by default what is due now (the late instalments, or the next one)."),
    )
    currency = None


class LoanDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanDocument
        fields = ["id", "original_name", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class LoanDocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=_("An identity or income document, a photo (JPEG, PNG, WebP, HEIC) or a PDF, as multipart data."),
    )
