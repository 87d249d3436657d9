from django.contrib import admin

from portal.core.admin import ReadOnlyAdmin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Read-only here: customers are created and edited in the portal, whose services audit every change."""

    list_display = ["full_name", "id_type", "id_number", "email_primary", "agent", "created_at"]
    list_filter = ["id_type"]
    search_fields = ["full_name", "id_number", "email_primary"]
    list_select_related = ["agent"]
    show_full_result_count = False
