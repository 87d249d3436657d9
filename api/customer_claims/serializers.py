"""What the app sends and reads about a customer's claims; the rules live in the claims services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.claims import documents
from portal.claims.models import Claim, ClaimDocument
from portal.claims.workflow import customer_words

from ..customer import StrictCharField, StrictDecimalField


class ClaimSerializer(serializers.ModelSerializer):
    """One of the customer's claims, as the list shows it. Everything is ours to decide: read-only."""

    policy_number = serializers.CharField(source="policy.number")
    product = serializers.CharField(source="policy.product.name")
    status_label = serializers.CharField(source="get_status_display")
    rejection_reason = serializers.CharField(source="rejection_reason.label", default=None, allow_null=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "number",
            "policy",
            "policy_number",
            "product",
            "coverage_code",
            "coverage_name",
            "loss_date",
            "status",
            "status_label",
            "currency",
            "claimed_amount",
            "approved_amount",
            "rejection_reason",
            "created_at",
            "status_changed_at",
        ]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    status = serializers.CharField(source="to_status")
    text = serializers.SerializerMethodField(help_text=_("What happened, in the customer's words."))

    def get_text(self, entry) -> str:
        return customer_words(entry, self.context["currency"])


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimDocument
        fields = ["id", "original_name", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class ClaimDetailSerializer(ClaimSerializer):
    description = serializers.CharField()
    timeline = serializers.SerializerMethodField()
    documents = DocumentSerializer(many=True, source="document_list", help_text=_("The files attached, oldest first."))

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "description", "timeline", "documents"]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, claim):
        return TimelineEntrySerializer(claim.timeline, many=True, context={"currency": claim.currency}).data


@extend_schema_field(OpenApiTypes.INT)
class OwnPolicyField(serializers.PrimaryKeyRelatedField):
    """One of the caller's policies by id (the serializer's context holds them); any other id is unknown."""

    default_error_messages = {
        "does_not_exist": _("You have no policy with this id."),
        "incorrect_type": _("Give the policy's id, a whole number."),
    }

    def get_queryset(self):
        return self.context["policies"]


class ClaimFileSerializer(serializers.Serializer):
    """A first notice of loss. Only these fields are read: status, customer and amounts approved are ours."""

    policy = OwnPolicyField(help_text=_("The id of one of your policies (GET /api/v1/policies/)."))
    coverage_code = StrictCharField(max_length=20, help_text=_("The code of a coverage of the policy."))
    loss_date = serializers.DateField()
    claimed_amount = StrictDecimalField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"))
    description = StrictCharField(max_length=5000)


class DocumentUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        min_length=1,
        max_length=10,
        help_text=_("One or more photos (JPEG, PNG, WebP, HEIC) or PDF documents, as multipart form data."),
    )

    def validate_files(self, uploads):
        """Each file checked by its content before any is stored, as the portal's upload form does."""
        errors = []
        for upload in uploads:
            try:
                documents.checked_upload(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise serializers.ValidationError(errors)
        return uploads
