"""The customer's notifications feed and the phones push notifications would go to."""

import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.notifications.models import NotificationKind, PushDevice

from ..customer import StrictBooleanField, StrictCharField

NOTIFICATION_ID = re.compile(rf"^({'|'.join(NotificationKind.values)})-([1-9][0-9]{{0,17}})$")


class NotificationSerializer(serializers.Serializer):
    id = serializers.CharField(help_text=_("Kind and record, e.g. receipt-12: what POST notifications/read/ takes."))
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    at = serializers.DateTimeField(help_text=_("When you were told."))
    read = serializers.BooleanField()
    title = serializers.CharField()
    text = serializers.CharField()


class NotificationIdField(StrictCharField):
    default_error_messages = {"invalid": _("Not a notification id (kind-number, e.g. receipt-12).")}

    def to_internal_value(self, data):
        match = NOTIFICATION_ID.match(super().to_internal_value(data))
        if match is None:
            self.fail("invalid")
        return match.group(1), int(match.group(2))


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=NotificationIdField(max_length=40), required=False, max_length=500)
    all = StrictBooleanField(required=False, default=False, help_text=_("Mark everything so far read."))

    def validate(self, data):
        if bool(data.get("ids")) == data["all"]:
            raise serializers.ValidationError(_("Give the ids to mark read, or all: true, not both."))
        return data


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(allow_null=True, help_text=_("How many were marked; null for all."))


class DeviceSerializer(serializers.ModelSerializer):
    token = StrictCharField(max_length=512, write_only=True)

    class Meta:
        model = PushDevice
        fields = ["id", "platform", "token", "created_at", "last_seen_at"]
        read_only_fields = ["id", "created_at", "last_seen_at"]
