"""What the app keeps about a customer's notifications: which ones they have read, and the devices
push notifications would go to. The notifications themselves are the records of what was emailed
(receipts, overdue reminders, renewal notices) and of their claims' moves; they are not copied."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    RECEIPT = "receipt", _("Payment receipt")
    PAYMENT_REMINDER = "payment_reminder", _("Overdue instalment reminder")
    RENEWAL_NOTICE = "renewal_notice", _("Renewal notice")
    CLAIM_STATUS = "claim_status", _("Claim status change")


class NotificationRead(models.Model):
    """One notification a user marked read (the ones before their `NotificationsSeen` mark are read too)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    object_id = models.PositiveBigIntegerField(_("record id"))
    read_at = models.DateTimeField(_("read at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification read")
        verbose_name_plural = _("notifications read")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "object_id"], name="notification_read_once"),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.kind} {self.object_id}"


class NotificationsSeen(models.Model):
    """Every notification of the user up to `read_before` is read ("mark all as read")."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    read_before = models.DateTimeField(_("read up to"))

    class Meta:
        verbose_name = _("notifications seen")
        verbose_name_plural = _("notifications seen")

    def __str__(self):
        return f"{self.user_id}: {self.read_before}"


class PushDevice(models.Model):
    """A phone the app is installed on, with the push token its platform gave it. A token belongs to one
    device, and so to whoever signed in on it last."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="push_devices"
    )
    platform = models.CharField(_("platform"), max_length=8, choices=Platform.choices)
    token = models.CharField(_("push token"), max_length=512, unique=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last registered at"), default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name = _("push device")
        verbose_name_plural = _("push devices")
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="push_device_user_idx")]

    def __str__(self):
        return f"{self.user_id} · {self.platform}"
