from django.contrib import admin
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from portal.core.admin import ReadOnlyAdmin

from . import services
from .models import Coverage, Policy, PolicyVersion, Product, Quote, RatingRule


# Translation admins show a Spanish and an English field for each translated text (translation.py).
class CoverageInline(TranslationTabularInline):
    model = Coverage
    extra = 0
    fields = [
        "position",
        "code",
        "name",
        "limit_pct",
        "deductible_pct",
        "deductible_min",
        "rate_per_mille",
        "is_mandatory",
        "description",
    ]


class RatingRuleInline(admin.TabularInline):
    model = RatingRule
    extra = 0
    fields = ["factor", "low", "high", "multiplier", "label"]


@admin.register(Product)
class ProductAdmin(TranslationAdmin):
    list_display = ["name", "code", "line", "currency", "term_months", "is_active", "sold_in_app"]
    list_filter = ["line", "is_active", "sold_in_app"]
    search_fields = ["name", "code"]
    inlines = [CoverageInline, RatingRuleInline]

    def get_readonly_fields(self, request, obj=None):
        # Quotes and policies already written in this currency and term keep them; a new currency
        # or term is a new product.
        if obj is not None and obj.quotes.exists():
            return ["code", "currency", "term_months"]
        return []

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The admin's own transaction is still open: the audit event commits with the change.
        services.product_configuration_record(actor=request.user, product=form.instance, created=not change)

    def has_delete_permission(self, request, obj=None):
        # Quotes and policies keep pointing at their product; take it off sale instead.
        return False


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "product", "status", "premium", "currency", "valid_until"]
    list_filter = ["status", "product"]
    search_fields = ["number", "customer__full_name", "customer__id_number"]
    list_select_related = ["customer", "product"]
    show_full_result_count = False


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "product", "status", "created_at"]
    list_filter = ["status", "product"]
    search_fields = ["number", "customer__full_name", "customer__id_number"]
    list_select_related = ["customer", "product"]
    show_full_result_count = False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ["policy", "number", "kind", "effective_date", "premium", "premium_change", "created_by"]
    list_filter = ["kind"]
    search_fields = ["policy__number"]
    list_select_related = ["policy", "created_by"]
    show_full_result_count = False
