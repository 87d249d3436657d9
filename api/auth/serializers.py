"""What the sign-in endpoints accept and answer; rules live in the services, not here."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.accounts.models import IdType, OtpMethod

CODE_HELP = _("The 6-digit code from the email (or, for staff signing in, from the authenticator app).")


class RegisterSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    id_type = serializers.ChoiceField(choices=IdType.choices)
    id_number = serializers.CharField(max_length=30)
    email = serializers.EmailField(help_text=_("Used only when no customer has this ID; else the email on file is."))
    phone = serializers.CharField(max_length=30)
    birth_date = serializers.DateField()
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class ChallengeSerializer(serializers.Serializer):
    challenge = serializers.UUIDField()


class CodeSerializer(ChallengeSerializer):
    code = serializers.CharField(max_length=12, help_text=CODE_HELP)


class SignInSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(CodeSerializer):
    new_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class EmailChangeSerializer(serializers.Serializer):
    new_email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


# --- answers ---


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ChallengeStartedSerializer(serializers.Serializer):
    challenge = serializers.UUIDField()
    method = serializers.ChoiceField(choices=[m.lower() for m in OtpMethod.values])
    expires_in = serializers.IntegerField(help_text=_("Seconds the code is valid."))
    resend_after = serializers.IntegerField(help_text=_("Seconds before another code may be asked for."))
    detail = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class EmailChangedSerializer(serializers.Serializer):
    email = serializers.EmailField()
