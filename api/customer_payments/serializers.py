"""What the app sends to start an online payment and reads about payments; Wompi's rules live in the
gateways services, and an attempt's status is Wompi's word only."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.gateways.models import GatewayTransaction, PaymentMethod
from portal.gateways.services import MAX_CARD_INSTALLMENTS, PSE_COMPANY, PSE_LEGAL_ID_TYPES, PSE_PERSON
from portal.payments.models import Payment

from ..customer import StrictCharField, StrictDecimalField, StrictIntegerField


class PaymentSerializer(serializers.ModelSerializer):
    method_label = serializers.CharField(source="get_method_display")
    receipt_number = serializers.CharField(source="receipt.number", default=None, allow_null=True)

    class Meta:
        model = Payment
        fields = ["id", "received_on", "method", "method_label", "amount", "currency", "reference", "status"]
        fields += ["receipt_number"]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer):
    """An online payment as Wompi last told us about it. Read-only: only Wompi's word changes it."""

    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    payment = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text=_("The payment recorded once Wompi approved it.")
    )

    class Meta:
        model = GatewayTransaction
        fields = ["id", "reference", "method", "amount", "currency", "status", "status_message"]
        fields += ["async_payment_url", "payment", "created_at", "status_changed_at"]
        read_only_fields = fields


class PaymentStartSerializer(serializers.Serializer):
    """A payment to start with Wompi. Only these fields are read; the fields of the other methods are ignored."""

    amount = StrictDecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.ChoiceField(choices=["COP"], default="COP")
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    token = StrictCharField(
        required=False, max_length=200, help_text=_("CARD: the card token from Wompi's widget (tok_…).")
    )
    installments = StrictIntegerField(
        required=False, min_value=1, max_value=MAX_CARD_INSTALLMENTS, help_text=_("CARD: instalments, 1 by default.")
    )
    phone_number = StrictCharField(required=False, max_length=13, help_text=_("NEQUI: the Nequi mobile number."))
    user_type = serializers.ChoiceField(
        choices=[(PSE_PERSON, _("A person")), (PSE_COMPANY, _("A company"))], required=False, help_text=_("PSE.")
    )
    user_legal_id_type = serializers.ChoiceField(choices=PSE_LEGAL_ID_TYPES, required=False, help_text=_("PSE."))
    user_legal_id = StrictCharField(required=False, max_length=20, help_text=_("PSE."))
    financial_institution_code = StrictCharField(
        required=False, max_length=20, help_text=_("PSE: a code from GET payments/pse-banks/.")
    )
    payment_description = StrictCharField(required=False, max_length=30, help_text=_("PSE: the bank shows it."))

    FIELDS = {
        PaymentMethod.CARD: ("token", "installments"),
        PaymentMethod.NEQUI: ("phone_number",),
        PaymentMethod.PSE: (
            "user_type",
            "user_legal_id_type",
            "user_legal_id",
            "financial_institution_code",
            "payment_description",
        ),
    }

    def method_details(self):
        """The chosen method's fields, as `online_payment_start` takes them."""
        data = self.validated_data
        return {name: data[name] for name in self.FIELDS[data["method"]] if name in data}


class BankSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
