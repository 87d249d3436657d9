"""The ledger as administrators see it in the Django admin: read-only, since every change goes
through the payments services (which audit it) and ledger entries never change."""

from django.contrib import admin

from portal.core.admin import ReadOnlyAdmin

from .models import ClaimPayout, Instalment, LedgerAccount, LedgerEntry, Payment, Receipt


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "currency", "created_at"]
    list_filter = ["currency"]
    list_select_related = ["customer"]
    search_fields = ["customer__full_name", "customer__id_number"]


@admin.register(Instalment)
class InstalmentAdmin(ReadOnlyAdmin):
    list_display = ["policy", "sequence", "due_date", "amount", "amount_paid", "currency", "status"]
    list_filter = ["status", "currency"]
    list_select_related = ["policy"]
    search_fields = ["policy__number"]
    date_hierarchy = "due_date"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "method", "direction", "amount", "currency", "received_on", "status", "account"]
    list_filter = ["method", "direction", "status", "currency"]
    list_select_related = ["account", "account__customer"]
    search_fields = ["reference", "account__customer__full_name"]
    date_hierarchy = "received_on"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["posted_on", "account", "kind", "amount", "currency", "description"]
    list_filter = ["kind", "currency"]
    list_select_related = ["account", "account__customer"]
    search_fields = ["account__customer__full_name", "description"]
    date_hierarchy = "posted_on"


@admin.register(ClaimPayout)
class ClaimPayoutAdmin(ReadOnlyAdmin):
    list_display = ["number", "claim", "amount", "currency", "status", "prepared_by", "confirmed_by"]
    list_filter = ["status", "currency"]
    list_select_related = ["claim", "prepared_by", "confirmed_by"]
    search_fields = ["number", "claim__number"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["number", "payment", "email", "created_at", "sent_at"]
    list_select_related = ["payment"]
    search_fields = ["number", "payment__reference"]
