from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.money import CURRENCIES


class PaymentMethod(models.TextChoices):
    CARD = "CARD", _("Card")
    NEQUI = "NEQUI", _("Nequi")
    PSE = "PSE", _("PSE bank transfer")


class GatewayTransaction(models.Model):
    """One attempt to collect money online through a gateway (Wompi).

    `reference` is ours, new for every attempt: Wompi refuses a reference it has already seen,
    so resending an attempt after a network failure can never charge the customer twice.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", pgettext_lazy("gateway transaction status", "Pending")
        APPROVED = "APPROVED", pgettext_lazy("gateway transaction status", "Approved")
        DECLINED = "DECLINED", pgettext_lazy("gateway transaction status", "Declined")
        VOIDED = "VOIDED", pgettext_lazy("gateway transaction status", "Voided")
        ERROR = "ERROR", pgettext_lazy("gateway transaction status", "Error")

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="gateway_transactions",
    )
    amount_in_cents = models.PositiveBigIntegerField(_("amount in cents"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    method = models.CharField(_("payment method"), max_length=8, choices=PaymentMethod.choices)
    method_details = models.JSONField(
        _("payment method details"),
        default=dict,
        blank=True,
        help_text=_("What the payer chose (bank, phone, instalments); never a card token or number."),
    )
    wompi_id = models.CharField(_("Wompi transaction id"), max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    status_message = models.CharField(_("gateway message"), max_length=255, blank=True)
    async_payment_url = models.URLField(
        _("bank payment link"), max_length=1000, blank=True, help_text=_("Where a PSE payer completes the payment.")
    )
    payment = models.OneToOneField(
        "payments.Payment",
        verbose_name=_("payment recorded"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gateway_transaction",
    )
    # What the money is for when it is not the customer's premium account: a registered target
    # (portal.core.payment_targets), by model label and id, that receives it on approval.
    paid_for_type = models.CharField(_("paid for"), max_length=100, blank=True)
    paid_for_id = models.CharField(_("paid for (id)"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("gateway transaction")
        verbose_name_plural = _("gateway transactions")
        permissions = [("reconcile_gatewaytransaction", _("Can reconcile gateway transactions with the ledger"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount_in_cents__gt=0), name="gateway_transaction_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="gateway_tx_status_created_idx"),
            models.Index(fields=["customer", "-created_at"], name="gateway_tx_customer_idx"),
            models.Index(
                fields=["paid_for_type", "paid_for_id"],
                name="gateway_tx_paid_for_idx",
                condition=~Q(paid_for_type=""),
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def amount(self):
        return (Decimal(self.amount_in_cents) / 100).quantize(Decimal("0.01"))


class WebhookEvent(models.Model):
    """One event a gateway sent us, and what we made of it.

    A verified event of a type we act on is stored raw as it arrived. Anyone can send the others
    (a wrong checksum, a replay, a type we ignore), so of those only the first
    PAYLOAD_KEPT_BYTES are kept, with the whole body's size and SHA-256.

    A gateway resends an event until we answer 200; the repeats carry the same event id, so the
    unique (provider, event_id) recognises them and they only count a delivery.
    """

    PAYLOAD_KEPT_BYTES = 2048

    class Provider(models.TextChoices):
        WOMPI = "WOMPI", "Wompi"

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", pgettext_lazy("webhook event status", "Received")
        PROCESSED = "PROCESSED", pgettext_lazy("webhook event status", "Processed")
        FAILED = "FAILED", pgettext_lazy("webhook event status", "Failed")
        IGNORED = "IGNORED", pgettext_lazy("webhook event status", "Ignored")

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    event_id = models.CharField(_("event id"), max_length=100)
    event_type = models.CharField(_("event type"), max_length=64, blank=True)
    payload = models.TextField(_("payload as received"))
    reference = models.CharField(_("transaction reference"), max_length=64, blank=True, db_index=True)
    gateway_transaction = models.ForeignKey(
        GatewayTransaction,
        verbose_name=_("gateway transaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_events",
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(_("error"), blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    last_received_at = models.DateTimeField(_("last delivery at"), default=timezone.now)
    verified = models.BooleanField(
        _("verified"), default=True, help_text=_("Whether its checksum, signed properties and age were accepted.")
    )
    # Unknown for events stored before sizes and hashes were kept (their payload is whole).
    payload_bytes = models.PositiveIntegerField(_("payload size in bytes"), null=True, blank=True)
    payload_sha256 = models.CharField(_("payload SHA-256"), max_length=64, blank=True)
    payload_truncated = models.BooleanField(_("payload truncated"), default=False)
    source_address = models.GenericIPAddressField(_("sent from"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique_per_provider"),
            models.CheckConstraint(
                condition=Q(status="RECEIVED", processed_at__isnull=True)
                | (~Q(status="RECEIVED") & Q(processed_at__isnull=False)),
                name="webhook_event_processed_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-received_at"], name="webhook_event_status_idx"),
            # Reconciliation lists the failures verified ones first.
            models.Index(fields=["status", "-verified", "-received_at"], name="webhook_event_verified_idx"),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.event_id[:12]}"
