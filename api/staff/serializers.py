from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.claims import workflow
from portal.claims.models import BulkTransitionJob, BulkTransitionResult, Claim
from portal.claims.selectors import active_rejection_reasons

from ..auth.serializers import DetailSerializer

__all__ = [
    "BulkJobAnswerSerializer",
    "BulkJobSerializer",
    "BulkResultSerializer",
    "BulkTransitionSerializer",
    "DetailSerializer",
    "QueueClaimSerializer",
]


class QueueClaimSerializer(serializers.ModelSerializer):
    """A work-queue row: what claims_for_queue reads, nothing more."""

    policy_number = serializers.CharField(source="policy.number")
    product = serializers.CharField(source="policy.product.name")
    customer = serializers.CharField(source="customer.full_name")
    agent = serializers.CharField(source="customer.agent.full_name")
    assignee = serializers.CharField(source="assignee.full_name", default=None, allow_null=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "number",
            "status",
            "currency",
            "claimed_amount",
            "approved_amount",
            "loss_date",
            "coverage_name",
            "created_at",
            "policy_number",
            "product",
            "customer",
            "agent",
            "assignee",
        ]
        read_only_fields = fields


class BulkTransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=workflow.BULK_ACTIONS)
    claims = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10_000)
    filter = serializers.DictField(
        required=False,
        help_text=_("The work queue's filters (as for GET staff/claims/), to act on every claim they match."),
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    rejection_reason = serializers.PrimaryKeyRelatedField(
        queryset=active_rejection_reasons(), required=False, allow_null=True
    )

    def validate(self, data):
        if (data.get("claims") is None) == (data.get("filter") is None):
            raise serializers.ValidationError(_("Give either the claims' ids or a filter, not both."))
        return data


class BulkResultSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="claim.number")

    class Meta:
        model = BulkTransitionResult
        fields = ["claim", "number", "outcome", "message"]
        read_only_fields = fields


class BulkJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = BulkTransitionJob
        fields = ["id", "action", "status", "total", "processed", "applied", "refused", "error", "created_at"]
        read_only_fields = fields


class BulkJobAnswerSerializer(BulkJobSerializer):
    left_out = serializers.IntegerField(help_text=_("Chosen claims outside your scope, left out."))
    results = BulkResultSerializer(many=True)

    class Meta(BulkJobSerializer.Meta):
        fields = [*BulkJobSerializer.Meta.fields, "left_out", "results"]
