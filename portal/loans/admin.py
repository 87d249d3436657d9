from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Loan, LoanApprovalAuthority, LoanProduct


@admin.register(LoanProduct)
class LoanProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "min_amount", "max_amount", "annual_rate_pct", "is_active"]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "currency", "is_active"]}),
        (_("Bounds"), {"fields": ["min_amount", "max_amount", "min_tenure_months", "max_tenure_months"]}),
        (_("Price"), {"fields": ["annual_rate_pct", "fee_pct", "fee_flat"]}),
        (
            _("Eligibility"),
            {
                "fields": [
                    "requires_policy",
                    "max_share_of_sum_insured_pct",
                    "allows_overdue_instalments",
                    "min_credit_score",
                ]
            },
        ),
    ]


@admin.register(LoanApprovalAuthority)
class LoanApprovalAuthorityAdmin(admin.ModelAdmin):
    list_display = ["user", "currency", "limit"]
    list_filter = ["currency"]
    autocomplete_fields = ["user"]


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    """Read-only: loans move only through their services (the portal and the API)."""

    list_display = ["number", "customer", "product", "principal", "currency", "status", "account_state", "applied_at"]
    list_filter = ["status", "account_state", "currency"]
    search_fields = ["number"]
    list_select_related = ["customer", "product"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
