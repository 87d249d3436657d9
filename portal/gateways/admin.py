from django.contrib import admin

from portal.core.admin import ReadOnlyAdmin

from .models import GatewayTransaction, WebhookEvent


@admin.register(GatewayTransaction)
class GatewayTransactionAdmin(ReadOnlyAdmin):
    list_display = ["reference", "customer", "method", "amount_in_cents", "currency", "status", "created_at"]
    list_filter = ["status", "method"]
    search_fields = ["reference", "wompi_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "payment", "created_by"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_type", "reference", "status", "verified", "deliveries"]
    list_filter = ["provider", "status", "verified", "event_type"]
    search_fields = ["reference", "event_id", "payload_sha256"]
    raw_id_fields = ["gateway_transaction"]
