"""What the app reads and may change of the customer's own profile; the rules are the customers services'."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.customers.models import Customer

EMAIL_CHANGE_HELP = _("Change it with POST /api/v1/auth/me/email/: the new address is verified by a code.")


class ProfileSerializer(serializers.ModelSerializer):
    agent_name = serializers.CharField(source="agent.full_name", read_only=True, help_text=_("Your agent."))
    agent_email = serializers.EmailField(source="agent.email_primary", read_only=True)
    profile_photo = serializers.SerializerMethodField(help_text=_("Where to download your photo, if you have one."))

    class Meta:
        model = Customer
        fields = [
            "full_name",
            "id_type",
            "id_number",
            "email_primary",
            "email_secondary",
            "phone",
            "address",
            "city",
            "birth_date",
            "profile_photo",
            "agent_name",
            "agent_email",
        ]
        read_only_fields = ["id_type", "id_number", "email_primary"]
        extra_kwargs = {
            "id_type": {"help_text": _("Your ID identifies you to the insurer: ask your agent to correct it.")},
            "id_number": {"help_text": _("Your ID identifies you to the insurer: ask your agent to correct it.")},
            "email_primary": {"help_text": EMAIL_CHANGE_HELP},
        }

    def get_profile_photo(self, customer) -> str | None:
        user = customer.user
        if user is None or not user.profile_photo:
            return None
        return self.context["request"].build_absolute_uri(reverse("api:me_photo"))


class ProfileChangeSerializer(ProfileSerializer):
    """PATCH /me/: only the fields a customer may change; sending a new primary email points to its flow."""

    email_primary = serializers.EmailField(required=False, help_text=EMAIL_CHANGE_HELP)

    def validate_email_primary(self, value):
        if value.strip().lower() != (self.instance.email_primary or "").lower():
            raise serializers.ValidationError(
                _("The primary email changes only after the new address is verified: use POST /api/v1/auth/me/email/.")
            )
        return value


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text=_("A JPEG, PNG or WebP photo."))
