from django.contrib import admin

from .models import ImportJob, MappingProfile, Source


class NeverDeleted(admin.ModelAdmin):
    """Sources and jobs are referenced by millions of bordereau rows: they are kept, not deleted."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(NeverDeleted):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(MappingProfile)
class MappingProfileAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "encoding", "delimiter", "date_format", "decimal_style", "all_or_nothing"]
    list_filter = ["kind", "all_or_nothing"]


@admin.register(ImportJob)
class ImportJobAdmin(NeverDeleted):
    list_display = ["id", "source", "kind", "period", "original_name", "status", "rows_loaded", "rows_rejected"]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False
