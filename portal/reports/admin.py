from django import forms
from django.contrib import admin
from django.db import transaction

from portal.audit.services import audit_record
from portal.core.admin import ReadOnlyAdmin

from .catalogue import REPORTS
from .models import ReportRun, ReportSchedule
from .services import report_schedule_clean


class ReportScheduleForm(forms.ModelForm):
    class Meta:
        model = ReportSchedule
        fields = ["name", "reports", "format", "day_of_month", "recipients", "emails_finance", "owner", "is_active"]

    def clean(self):
        cleaned = super().clean()
        # An empty JSON field comes back as None; the column holds a list.
        cleaned["recipients"] = cleaned.get("recipients") or []
        if not self.errors:
            report_schedule_clean(
                reports=cleaned.get("reports") or [],
                fmt=cleaned.get("format"),
                day_of_month=cleaned.get("day_of_month") or 0,
                recipients=cleaned.get("recipients") or [],
                owner=cleaned.get("owner"),
                emails_finance=cleaned.get("emails_finance", False),
            )
        return cleaned


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    """Administrators add and change the monthly report schedules (the finance pack among them);
    every save is audited. Report names: see the catalogue (portal/reports/catalogue.py)."""

    form = ReportScheduleForm
    list_display = ["name", "format", "day_of_month", "owner", "is_active", "last_period", "emailed_period"]
    list_filter = ["is_active", "format"]
    readonly_fields = ["last_period", "emailed_period", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.base_fields["reports"].help_text = ", ".join(REPORTS)
        return form

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="report.schedule_changed" if change else "report.schedule_created",
                target=obj,
                metadata={"reports": obj.reports, "format": obj.format, "day_of_month": obj.day_of_month},
            )


@admin.register(ReportRun)
class ReportRunAdmin(ReadOnlyAdmin):
    list_display = ["report", "format", "status", "row_count", "requested_by", "requested_at", "expires_at"]
    list_filter = ["status", "format", "report"]
