"""What the app reads of products, quotes and policies, and what it may send to quote; the rules are
the policies services' (pricing, issuance), never here."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.policies.models import Coverage, PaymentFrequency, Policy, PolicyVersion, Product, Quote


class CoverageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coverage
        fields = ["code", "name", "description", "limit_pct", "deductible_pct", "deductible_min", "is_mandatory"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    coverages = CoverageSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "line",
            "currency",
            "description",
            "term_months",
            "min_sum_insured",
            "max_sum_insured",
            "requires_age",
            "min_age",
            "max_age",
            "quote_validity_days",
            "coverages",
        ]
        read_only_fields = fields


class ProductBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "line"]
        read_only_fields = fields


class QuoteRequestSerializer(serializers.Serializer):
    """A quote asked for in the app: for the caller themselves, priced for their own age."""

    product = serializers.IntegerField(min_value=1, help_text=_("A product from GET /api/v1/products/."))
    start_date = serializers.DateField()
    sum_insured = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    coverage_codes = serializers.ListField(
        child=serializers.CharField(max_length=20),
        max_length=50,
        help_text=_("The coverages wanted, by code; the mandatory ones are always included."),
    )
    payment_frequency = serializers.ChoiceField(choices=PaymentFrequency.choices, default=PaymentFrequency.ANNUAL)


class QuoteSerializer(serializers.ModelSerializer):
    product = ProductBriefSerializer(read_only=True)
    policy = serializers.SerializerMethodField(help_text=_("The policy issued from this quote, if any."))

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "status",
            "product",
            "start_date",
            "end_date",
            "sum_insured",
            "coverage_codes",
            "insured_age",
            "currency",
            "premium",
            "breakdown",
            "payment_frequency",
            "valid_until",
            "created_at",
            "policy",
        ]
        read_only_fields = fields

    def get_policy(self, quote) -> int | None:
        policy = getattr(quote, "policy", None)
        return policy.pk if policy is not None else None


class VersionSerializer(serializers.ModelSerializer):
    document = serializers.SerializerMethodField(help_text=_("This version's policy document (PDF)."))

    class Meta:
        model = PolicyVersion
        fields = [
            "number",
            "kind",
            "effective_date",
            "start_date",
            "end_date",
            "sum_insured",
            "currency",
            "premium",
            "premium_change",
            "created_at",
            "document",
        ]
        read_only_fields = fields

    def get_document(self, version) -> str:
        url = reverse("api:policy_document", args=[version.policy_id])
        return self.context["request"].build_absolute_uri(f"{url}?version={version.number}")


class PolicySerializer(serializers.ModelSerializer):
    """A policy in the list: what its current version says."""

    product = ProductBriefSerializer(read_only=True)
    version = serializers.IntegerField(source="current_version.number", read_only=True)
    start_date = serializers.DateField(source="current_version.start_date", read_only=True)
    end_date = serializers.DateField(source="current_version.cover_end", read_only=True)
    sum_insured = serializers.DecimalField(
        source="current_version.sum_insured", max_digits=16, decimal_places=2, read_only=True
    )
    premium = serializers.DecimalField(
        source="current_version.premium", max_digits=16, decimal_places=2, read_only=True
    )
    currency = serializers.CharField(source="current_version.currency", read_only=True)

    class Meta:
        model = Policy
        fields = [
            "id",
            "number",
            "status",
            "product",
            "version",
            "start_date",
            "end_date",
            "sum_insured",
            "premium",
            "currency",
            "payment_frequency",
            "created_at",
        ]
        read_only_fields = fields


class PolicyDetailSerializer(PolicySerializer):
    """A policy with its current terms (coverages and premium breakdown) and every version."""

    coverages = serializers.JSONField(source="current_version.coverages", read_only=True)
    breakdown = serializers.JSONField(source="current_version.breakdown", read_only=True)
    renews = serializers.CharField(source="renewal_of.number", default=None, read_only=True)
    versions = VersionSerializer(many=True, read_only=True)
    document = serializers.SerializerMethodField(help_text=_("The current version's policy document (PDF)."))

    class Meta(PolicySerializer.Meta):
        fields = [*PolicySerializer.Meta.fields, "coverages", "breakdown", "renews", "versions", "document"]
        read_only_fields = fields

    def get_document(self, policy) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:policy_document", args=[policy.pk]))
